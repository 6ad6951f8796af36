/**
 * One card's account of every range: its state as the card stage moves through it, and what it took —
 * blocks written, skipped (already right), rewritten, never held, I/O errors. The card stage is the only
 * owner; the report and the progress events read it. A range settles when the last of its pieces did.
 */
import type { BlockSpan, RangeChange, RangeReport, RangeState } from '../../../shared/report';
import type { PlannedRange } from '../plan';
import { distinctBlocks, mergeBlockSpans } from './spans';

/** Most spans kept per range for the lists in reports (the counts stay exact). */
const MAX_SPANS = 256;

interface RangeEntry {
  planned: PlannedRange;
  state: RangeState;
  retries: number;
  rewrittenBlocks: number;
  /** Null until the range has one (a bmap of 50,000 ranges must not cost 100,000 empty arrays). */
  retried: BlockSpan[] | null;
  bad: BlockSpan[] | null;
  writtenBlocks: number;
  skippedBlocks: number;
  mediaErrors: number;
  doneBytes: number;
  open: number;
  seenLast: boolean;
  dirty: boolean;
}

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

export class RangeBook {
  private readonly entries = new Map<number, RangeEntry>();
  private changes: RangeChange[] = [];

  constructor(
    ranges: readonly PlannedRange[],
    /** Final state of a range whose pieces all held: "verified" with readback, "written" without. */
    private readonly goodState: 'verified' | 'written',
  ) {
    for (const r of ranges) this.add(r);
  }

  add(range: PlannedRange): void {
    this.entries.set(range.index, {
      planned: range,
      state: 'pending',
      retries: 0,
      rewrittenBlocks: 0,
      retried: null,
      bad: null,
      writtenBlocks: 0,
      skippedBlocks: 0,
      mediaErrors: 0,
      doneBytes: 0,
      open: 0,
      seenLast: false,
      dirty: false,
    });
  }

  /**
   * A grown range was cut where the image ended (a range with no byte left is dropped). When the image ended
   * exactly where a chunk did, no piece of the range was marked last: the range is complete once its bytes
   * settled, which may already be the case.
   */
  trim(range: PlannedRange): void {
    if (range.end <= range.start) {
      this.entries.delete(range.index);
      return;
    }
    const e = this.entry(range.index);
    if (e) this.settleIfDone(e);
  }

  private entry(index: number): RangeEntry | undefined {
    return this.entries.get(index);
  }

  private setState(e: RangeEntry, state: RangeState): void {
    if (e.state === state) return;
    e.state = state;
    this.changes.push({ index: e.planned.index, state, retries: e.retries, doneBytes: e.doneBytes, ...(state === 'failed' ? { badBlocks: mergeBlockSpans(e.bad ?? []) } : {}) });
    e.dirty = false;
  }

  /** A piece of the range entered the card stage. */
  pieceStarted(range: PlannedRange, last: boolean): void {
    const e = this.entry(range.index);
    if (!e) return;
    e.open++;
    e.seenLast ||= last;
    if (e.state === 'pending') this.setState(e, 'writing');
  }

  /** The range's blocks are being rewritten. */
  retrying(range: PlannedRange): void {
    const e = this.entry(range.index);
    if (e && e.state !== 'failed' && e.state !== 'source-mismatch') this.setState(e, 'retrying');
  }

  pieceSettled(range: PlannedRange, outcome: PieceOutcome): void {
    const e = this.entry(range.index);
    if (!e) return;
    e.open = Math.max(0, e.open - 1);
    e.doneBytes += outcome.bytes;
    e.retries = Math.max(e.retries, outcome.passes);
    e.rewrittenBlocks += outcome.rewrittenBlocks;
    e.writtenBlocks += outcome.writtenBlocks;
    e.skippedBlocks += outcome.skippedBlocks;
    e.mediaErrors += outcome.mediaErrors;
    if (outcome.retried.length > 0 && (e.retried?.length ?? 0) < MAX_SPANS) (e.retried ??= []).push(...outcome.retried);
    if (outcome.bad.length > 0) (e.bad ??= []).push(...outcome.bad);
    e.dirty = true;
    if (e.state === 'retrying' && outcome.bad.length === 0 && e.open > 0) this.setState(e, 'writing');
    this.settleIfDone(e);
  }

  private settleIfDone(e: RangeEntry): void {
    // Done when its last piece came and nothing is open; or (a grown range cut short) when all its bytes settled.
    const complete = e.seenLast || (e.doneBytes > 0 && e.doneBytes >= e.planned.end - e.planned.start);
    if (!complete || e.open > 0 || e.state === 'source-mismatch') return;
    this.setState(e, (e.bad?.length ?? 0) > 0 ? 'failed' : this.goodState);
  }

  /** The final pass found a settled range wrong again: it is rewritten (or fails) from here. */
  reopen(range: PlannedRange): void {
    const e = this.entry(range.index);
    if (!e) return;
    e.open++;
    this.setState(e, 'retrying');
  }

  /** The image's bytes in this range do not match the bmap. */
  sourceMismatch(range: PlannedRange): void {
    const e = this.entry(range.index);
    if (e) this.setState(e, 'source-mismatch');
  }

  /** A job that stopped early: ranges caught mid-write were not verified, so they go back to pending. */
  abandonUnfinished(): void {
    for (const e of this.entries.values()) {
      if (e.state === 'writing' || e.state === 'retrying') this.setState(e, 'pending');
    }
  }

  hasFailures(): boolean {
    for (const e of this.entries.values()) if (e.state === 'failed') return true;
    return false;
  }

  /** Range changes since the last call (state changes, and progress inside ranges). */
  takeChanges(): RangeChange[] {
    for (const e of this.entries.values()) {
      if (!e.dirty) continue;
      e.dirty = false;
      this.changes.push({ index: e.planned.index, state: e.state, retries: e.retries, doneBytes: e.doneBytes });
    }
    const out = this.changes;
    this.changes = [];
    return out;
  }

  get totalRetries(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.retries;
    return n;
  }

  reports(): RangeReport[] {
    return [...this.entries.values()]
      .sort((a, b) => a.planned.index - b.planned.index)
      .map((e) => {
        const retried = mergeBlockSpans(e.retried ?? []);
        const bad = mergeBlockSpans(e.bad ?? []);
        return {
          index: e.planned.index,
          first: e.planned.first,
          last: e.planned.last,
          bytes: e.planned.end - e.planned.start,
          state: e.state,
          retries: e.retries,
          rewrittenBlocks: e.rewrittenBlocks,
          retriedBlocks: distinctBlocks(retried),
          ...(retried.length > 0 ? { retriedSpans: retried.slice(0, MAX_SPANS) } : {}),
          writtenBlocks: e.writtenBlocks,
          skippedBlocks: e.skippedBlocks,
          mediaErrors: e.mediaErrors,
          ...(bad.length > 0 ? { badBlocks: bad } : {}),
        };
      });
  }
}
