/**
 * A card's range reports packed in columns. A bmap of 50,000 ranges is 50,000 report objects; packed, it is
 * one array of numbers and one of states (plus the spans of the few ranges that have any), which cross from
 * the engine thread as two transferred buffers instead of a cloned object graph, and which the CLI writes to
 * its report file one range at a time. `rangeReportAt` builds exactly the RangeReport the report holds (the
 * same fields, in the same order), so a report unpacked from its table is the report. Pure.
 */
import type { BatchReport, BlockSpan, FlashReport, RangeReport, RangeState } from './report';

/** Every range state, by its code in `states`. */
const STATES: readonly RangeState[] = ['pending', 'writing', 'written', 'verified', 'retrying', 'failed', 'source-mismatch'];
const STATE_CODE = new Map<RangeState, number>(STATES.map((s, i) => [s, i]));

/** The numbers kept per range, in this order, in `numbers`. */
export const RANGE_NUMBERS = ['index', 'first', 'last', 'bytes', 'retries', 'rewrittenBlocks', 'retriedBlocks', 'writtenBlocks', 'skippedBlocks', 'mediaErrors'] as const;
export type RangeNumber = (typeof RANGE_NUMBERS)[number];
const WIDTH = RANGE_NUMBERS.length;
const AT = Object.fromEntries(RANGE_NUMBERS.map((name, i) => [name, i])) as Record<RangeNumber, number>;

/** The block lists of one range that has any (retried blocks, and blocks that never held). */
export interface RangeSpans {
  /** Position of the range in the table. */
  at: number;
  retriedSpans?: BlockSpan[];
  badBlocks?: BlockSpan[];
}

/** Range reports in range order, packed (a plain object: it survives structured clone as it is). */
export interface RangeTable {
  count: number;
  /** `count` rows of the RANGE_NUMBERS. */
  numbers: Float64Array;
  /** Each range's state, as its index in the list of states. */
  states: Uint8Array;
  /** Only the ranges that have spans, by ascending `at`. */
  spans: RangeSpans[];
}

/** A card's report with its ranges packed. */
export type PackedFlashReport = Omit<FlashReport, 'ranges'> & { ranges: RangeTable };
/** A batch whose cards' ranges are packed. */
export type PackedBatchReport = Omit<BatchReport, 'cards'> & { cards: PackedFlashReport[] };

/** One range's numbers and state, to be written into a table. */
export type RangeRow = Record<RangeNumber, number> & { state: RangeState };

/** Builds a table of `count` ranges row by row (rows in range order). */
export class RangeTableWriter {
  private readonly table: RangeTable;
  private row = 0;

  constructor(count: number) {
    this.table = { count, numbers: new Float64Array(count * WIDTH), states: new Uint8Array(count), spans: [] };
  }

  add(row: RangeRow, spans?: { retriedSpans?: BlockSpan[]; badBlocks?: BlockSpan[] }): void {
    if (this.row >= this.table.count) throw new RangeError(`the table holds ${this.table.count} ranges`);
    const base = this.row * WIDTH;
    for (let k = 0; k < WIDTH; k++) this.table.numbers[base + k] = row[RANGE_NUMBERS[k] as RangeNumber];
    this.table.states[this.row] = STATE_CODE.get(row.state) ?? 0;
    if (spans && (spans.retriedSpans || spans.badBlocks)) this.table.spans.push({ at: this.row, ...spans });
    this.row++;
  }

  done(): RangeTable {
    if (this.row !== this.table.count) throw new RangeError(`the table has ${this.row} of its ${this.table.count} ranges`);
    return this.table;
  }
}

/** Number `name` of the range at position `at`. */
export const rangeNumber = (t: RangeTable, at: number, name: RangeNumber): number => t.numbers[at * WIDTH + AT[name]] ?? 0;
/** State of the range at position `at`. */
export const rangeState = (t: RangeTable, at: number): RangeState => STATES[t.states[at] ?? 0] ?? 'pending';

/** Sum of one number over every range. */
export function sumRangeNumber(t: RangeTable, name: RangeNumber): number {
  let n = 0;
  for (let at = 0, i = AT[name]; at < t.count; at++, i += WIDTH) n += t.numbers[i] ?? 0;
  return n;
}

/** The spans of the range at position `at` (none for most ranges). */
export function rangeSpansAt(t: RangeTable, at: number): RangeSpans | undefined {
  let lo = 0;
  let hi = t.spans.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = t.spans[mid] as RangeSpans;
    if (s.at === at) return s;
    if (s.at < at) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** The report of the range at position `at`, as the report's `ranges` holds it. */
export function rangeReportAt(t: RangeTable, at: number): RangeReport {
  const base = at * WIDTH;
  const n = (name: RangeNumber): number => t.numbers[base + AT[name]] ?? 0;
  const spans = rangeSpansAt(t, at);
  return {
    index: n('index'),
    first: n('first'),
    last: n('last'),
    bytes: n('bytes'),
    state: rangeState(t, at),
    retries: n('retries'),
    rewrittenBlocks: n('rewrittenBlocks'),
    retriedBlocks: n('retriedBlocks'),
    ...(spans?.retriedSpans ? { retriedSpans: spans.retriedSpans } : {}),
    writtenBlocks: n('writtenBlocks'),
    skippedBlocks: n('skippedBlocks'),
    mediaErrors: n('mediaErrors'),
    ...(spans?.badBlocks ? { badBlocks: spans.badBlocks } : {}),
  };
}

export function rangeReportsOf(t: RangeTable): RangeReport[] {
  const out: RangeReport[] = new Array<RangeReport>(t.count);
  for (let at = 0; at < t.count; at++) out[at] = rangeReportAt(t, at);
  return out;
}

/** The buffers to transfer when posting a table to another thread (the sender's table is emptied). */
export const rangeTableBuffers = (t: RangeTable): ArrayBuffer[] => [t.numbers.buffer as ArrayBuffer, t.states.buffer as ArrayBuffer];

/** True for a RangeTable (also after a structured clone). */
export function isRangeTable(value: unknown): value is RangeTable {
  const v = value as Partial<RangeTable> | null;
  return typeof v === 'object' && v !== null && v.numbers instanceof Float64Array && v.states instanceof Uint8Array && Array.isArray(v.spans);
}

/** The card's report with its ranges as objects. */
export const unpackFlashReport = (r: PackedFlashReport): FlashReport => ({ ...r, ranges: rangeReportsOf(r.ranges) });

export function unpackBatchReport(b: PackedBatchReport): BatchReport {
  return { ...b, cards: b.cards.map(unpackFlashReport) };
}

/** A card report either way: its ranges as objects or packed. */
export type AnyFlashReport = FlashReport | PackedFlashReport;

/** How many ranges the report has. */
export const rangeCountOf = (r: AnyFlashReport): number => (isRangeTable(r.ranges) ? r.ranges.count : r.ranges.length);

/** Blocks that never held, over every range of the report. */
export function badBlockCountOf(r: AnyFlashReport): number {
  const spanBlocks = (spans: BlockSpan[] | undefined): number => (spans ?? []).reduce((m, s) => m + s.last - s.first + 1, 0);
  if (!isRangeTable(r.ranges)) return r.ranges.reduce((n, range) => n + spanBlocks(range.badBlocks), 0);
  return r.ranges.spans.reduce((n, s) => n + spanBlocks(s.badBlocks), 0);
}
