/**
 * One card's account of every range: its state as the card stage moves through it, and what it took —
 * blocks written, skipped (already right), rewritten, never held, I/O errors. The card stage is the only
 * owner; the report and the progress events read it. A range settles when the last of its pieces did.
 *
 * Kept in columns (typed arrays indexed by the range's index), not one object per range: a bmap of 50,000
 * ranges costs about 50 bytes a range here. Only the few ranges with block lists (retried, never held) get
 * an object of their own.
 */
import type { BlockSpan, RangeChange, RangeReport, RangeState } from '../../../shared/report';
import { RangeTableWriter, rangeReportsOf, type RangeRow, type RangeTable } from '../../../shared/range-table';
import type { PlannedRange } from '../plan';
import { distinctBlocks, mergeBlockSpans } from './spans';

/** Most spans kept per range for the lists in reports (the counts stay exact). */
const MAX_SPANS = 256;

const STATES: readonly RangeState[] = ['pending', 'writing', 'written', 'verified', 'retrying', 'failed', 'source-mismatch'];
const CODE = Object.fromEntries(STATES.map((s, i) => [s, i])) as Record<RangeState, number>;

/** Flag bits. */
const SEEN_LAST = 1;
const DIRTY = 2;

/** What happened to one piece of a range. */
export interface PieceOutcome {
  bytes: number;
  /** Block rewrite passes the piece's worst block needed. */
  passes: number;
  rewrittenBlocks: number;
  retried: BlockSpan[];
  bad: BlockSpan[];
  writtenBlocks: number;
  skippedBlocks: number;
  mediaErrors: number;
}

/** The block lists of a range that has any. */
interface RangeLists {
  retried: BlockSpan[] | null;
  bad: BlockSpan[] | null;
}

/** A typed array that can grow (ranges are added while an image of unknown size is read). */
function grown<T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(a: T, length: number): T {
  if (length <= a.length) return a;
  const next = new (a.constructor as new (n: number) => T)(Math.max(length, a.length * 2));
  next.set(a);
  return next;
}

export class RangeBook {
  /** The planned range at each index; undefined where none (or dropped). */
  private planned: (PlannedRange | undefined)[] = [];
  private state = new Uint8Array(0);
  private flags = new Uint8Array(0);
  private retries = new Uint16Array(0);
  private open = new Uint32Array(0);
  private rewritten = new Float64Array(0);
  private written = new Float64Array(0);
  private skipped = new Float64Array(0);
  private mediaErrors = new Float64Array(0);
  private doneBytes = new Float64Array(0);
  private readonly lists = new Map<number, RangeLists>();
  private changes: RangeChange[] = [];

  constructor(
    ranges: readonly PlannedRange[],
    /** Final state of a range whose pieces all held: "verified" with readback, "written" without. */
    private readonly goodState: 'verified' | 'written',
    /**
     * Gather range changes for the progress events (off when nobody is sent them, as for the CLI: 50,000
     * ranges would make a few hundred thousand change objects for nothing); `takeChanges` then gives none.
     */
    private readonly recordChanges = true,
  ) {
    this.reserve(ranges.reduce((n, r) => Math.max(n, r.index + 1), 0));
    for (const r of ranges) this.add(r);
  }

  private reserve(length: number): void {
    this.state = grown(this.state, length);
    this.flags = grown(this.flags, length);
    this.retries = grown(this.retries, length);
    this.open = grown(this.open, length);
    this.rewritten = grown(this.rewritten, length);
    this.written = grown(this.written, length);
    this.skipped = grown(this.skipped, length);
    this.mediaErrors = grown(this.mediaErrors, length);
    this.doneBytes = grown(this.doneBytes, length);
  }

  add(range: PlannedRange): void {
    const i = range.index;
    this.reserve(i + 1);
    while (this.planned.length <= i) this.planned.push(undefined);
    this.planned[i] = range;
    this.state[i] = CODE.pending;
    this.flags[i] = 0;
    this.retries[i] = 0;
    this.open[i] = 0;
    this.rewritten[i] = 0;
    this.written[i] = 0;
    this.skipped[i] = 0;
    this.mediaErrors[i] = 0;
    this.doneBytes[i] = 0;
    this.lists.delete(i);
  }

  /**
   * A grown range was cut where the image ended (a range with no byte left is dropped). When the image ended
   * exactly where a chunk did, no piece of the range was marked last: the range is complete once its bytes
   * settled, which may already be the case.
   */
  trim(range: PlannedRange): void {
    const i = this.at(range);
    if (i < 0) return;
    if (range.end <= range.start) {
      this.planned[i] = undefined;
      this.lists.delete(i);
      return;
    }
    this.settleIfDone(i);
  }

  /** The range's place in the columns, or -1 when the book does not hold it. */
  private at(range: PlannedRange): number {
    return this.planned[range.index] ? range.index : -1;
  }

  private stateOf(i: number): RangeState {
    return STATES[this.state[i] ?? 0] ?? 'pending';
  }

  private listsOf(i: number): RangeLists {
    let l = this.lists.get(i);
    if (!l) this.lists.set(i, (l = { retried: null, bad: null }));
    return l;
  }

  private setState(i: number, state: RangeState): void {
    if (this.stateOf(i) === state) return;
    this.state[i] = CODE[state];
    if (!this.recordChanges) return;
    const bad = this.lists.get(i)?.bad ?? [];
    this.changes.push({ index: i, state, retries: this.retries[i] ?? 0, doneBytes: this.doneBytes[i] ?? 0, ...(state === 'failed' ? { badBlocks: mergeBlockSpans(bad) } : {}) });
    this.flags[i] = (this.flags[i] ?? 0) & ~DIRTY;
  }

  /** A piece of the range entered the card stage. */
  pieceStarted(range: PlannedRange, last: boolean): void {
    const i = this.at(range);
    if (i < 0) return;
    this.open[i] = (this.open[i] ?? 0) + 1;
    if (last) this.flags[i] = (this.flags[i] ?? 0) | SEEN_LAST;
    if (this.stateOf(i) === 'pending') this.setState(i, 'writing');
  }

  /** The range's blocks are being rewritten. */
  retrying(range: PlannedRange): void {
    const i = this.at(range);
    if (i < 0) return;
    const s = this.stateOf(i);
    if (s !== 'failed' && s !== 'source-mismatch') this.setState(i, 'retrying');
  }

  pieceSettled(range: PlannedRange, outcome: PieceOutcome): void {
    const i = this.at(range);
    if (i < 0) return;
    this.open[i] = Math.max(0, (this.open[i] ?? 0) - 1);
    this.doneBytes[i] = (this.doneBytes[i] ?? 0) + outcome.bytes;
    this.retries[i] = Math.max(this.retries[i] ?? 0, outcome.passes);
    this.rewritten[i] = (this.rewritten[i] ?? 0) + outcome.rewrittenBlocks;
    this.written[i] = (this.written[i] ?? 0) + outcome.writtenBlocks;
    this.skipped[i] = (this.skipped[i] ?? 0) + outcome.skippedBlocks;
    this.mediaErrors[i] = (this.mediaErrors[i] ?? 0) + outcome.mediaErrors;
    if (outcome.retried.length > 0) {
      const l = this.listsOf(i);
      if ((l.retried?.length ?? 0) < MAX_SPANS) (l.retried ??= []).push(...outcome.retried);
    }
    if (outcome.bad.length > 0) (this.listsOf(i).bad ??= []).push(...outcome.bad);
    if (this.recordChanges) this.flags[i] = (this.flags[i] ?? 0) | DIRTY;
    if (this.stateOf(i) === 'retrying' && outcome.bad.length === 0 && (this.open[i] ?? 0) > 0) this.setState(i, 'writing');
    this.settleIfDone(i);
  }

  private settleIfDone(i: number): void {
    const planned = this.planned[i];
    if (!planned) return;
    // Done when its last piece came and nothing is open; or (a grown range cut short) when all its bytes settled.
    const done = this.doneBytes[i] ?? 0;
    const complete = ((this.flags[i] ?? 0) & SEEN_LAST) !== 0 || (done > 0 && done >= planned.end - planned.start);
    if (!complete || (this.open[i] ?? 0) > 0 || this.stateOf(i) === 'source-mismatch') return;
    this.setState(i, (this.lists.get(i)?.bad?.length ?? 0) > 0 ? 'failed' : this.goodState);
  }

  /** The final pass found a settled range wrong again: it is rewritten (or fails) from here. */
  reopen(range: PlannedRange): void {
    const i = this.at(range);
    if (i < 0) return;
    this.open[i] = (this.open[i] ?? 0) + 1;
    this.setState(i, 'retrying');
  }

  /** The image's bytes in this range do not match the bmap. */
  sourceMismatch(range: PlannedRange): void {
    const i = this.at(range);
    if (i >= 0) this.setState(i, 'source-mismatch');
  }

  /** A job that stopped early: ranges caught mid-write were not verified, so they go back to pending. */
  abandonUnfinished(): void {
    for (let i = 0; i < this.planned.length; i++) {
      if (!this.planned[i]) continue;
      const s = this.stateOf(i);
      if (s === 'writing' || s === 'retrying') this.setState(i, 'pending');
    }
  }

  hasFailures(): boolean {
    for (let i = 0; i < this.planned.length; i++) if (this.planned[i] && this.state[i] === CODE.failed) return true;
    return false;
  }

  /** Range changes since the last call (state changes, and progress inside ranges). */
  takeChanges(): RangeChange[] {
    if (!this.recordChanges) return [];
    for (let i = 0; i < this.planned.length; i++) {
      const f = this.flags[i] ?? 0;
      if (!(f & DIRTY) || !this.planned[i]) continue;
      this.flags[i] = f & ~DIRTY;
      this.changes.push({ index: i, state: this.stateOf(i), retries: this.retries[i] ?? 0, doneBytes: this.doneBytes[i] ?? 0 });
    }
    const out = this.changes;
    this.changes = [];
    return out;
  }

  get totalRetries(): number {
    let n = 0;
    for (let i = 0; i < this.planned.length; i++) if (this.planned[i]) n += this.retries[i] ?? 0;
    return n;
  }

  /** Every range's report, packed, in range order. */
  table(): RangeTable {
    let count = 0;
    for (const p of this.planned) if (p) count++;
    const out = new RangeTableWriter(count);
    // One row object reused for every range: 50,000 ranges make no garbage here.
    const row: RangeRow = { index: 0, first: 0, last: 0, bytes: 0, state: 'pending', retries: 0, rewrittenBlocks: 0, retriedBlocks: 0, writtenBlocks: 0, skippedBlocks: 0, mediaErrors: 0 };
    for (let i = 0; i < this.planned.length; i++) {
      const p = this.planned[i];
      if (!p) continue;
      const l = this.lists.get(i);
      const retried = l?.retried ? mergeBlockSpans(l.retried) : [];
      const bad = l?.bad ? mergeBlockSpans(l.bad) : [];
      row.index = p.index;
      row.first = p.first;
      row.last = p.last;
      row.bytes = p.end - p.start;
      row.state = this.stateOf(i);
      row.retries = this.retries[i] ?? 0;
      row.rewrittenBlocks = this.rewritten[i] ?? 0;
      row.retriedBlocks = distinctBlocks(retried);
      row.writtenBlocks = this.written[i] ?? 0;
      row.skippedBlocks = this.skipped[i] ?? 0;
      row.mediaErrors = this.mediaErrors[i] ?? 0;
      out.add(row, l ? { ...(retried.length > 0 ? { retriedSpans: retried.slice(0, MAX_SPANS) } : {}), ...(bad.length > 0 ? { badBlocks: bad } : {}) } : undefined);
    }
    return out.done();
  }

  /** Every range's report as objects (tests; the engine sends the table). */
  reports(): RangeReport[] {
    return rangeReportsOf(this.table());
  }
}
