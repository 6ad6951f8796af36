/**
 * The figures the final screen shows, each from one list so a count always agrees with the list next to it
 * and says what it counts: ranges by outcome, distinct blocks that needed a rewrite, block writes spent on
 * rewrites, blocks that never held, blocks skipped because the card already held them.
 */
import type { BlockSpan, FlashReport, RangeReport } from '../../shared/report';

export interface ReportFacts {
  total: number;
  /** Ranges read back equal (including those that needed rewrites first). */
  verified: RangeReport[];
  /** Verified only after some blocks were rewritten. */
  rewritten: RangeReport[];
  /** Ranges with blocks that never held. */
  failed: RangeReport[];
  /** Ranges where the image's own data did not match the bmap. */
  source: RangeReport[];
  /** Written, not read back. */
  written: RangeReport[];
  /** Not finished when the job ended (never started, or caught mid-way). */
  unreached: RangeReport[];
  /** Distinct blocks that needed a rewrite, when the report says (older reports only count block writes). */
  retriedBlocks: number | null;
  /** Block writes spent on rewrites (a block rewritten twice counts twice). */
  rewrites: number;
  /** Blocks that never held. */
  badBlocks: number;
  skippedBlocks: number | null;
}

export const spanBlocks = (spans: readonly BlockSpan[] | undefined): number => (spans ?? []).reduce((n, s) => n + (s.last - s.first + 1), 0);

/** Distinct blocks of a range that needed a rewrite, or null when the report cannot say. */
export function rangeRetriedBlocks(range: RangeReport): number | null {
  if (range.retriedBlocks !== undefined) return range.retriedBlocks;
  if (range.retriedSpans !== undefined) return spanBlocks(range.retriedSpans);
  return range.retries === 0 ? 0 : null;
}

export function reportFacts(report: FlashReport): ReportFacts {
  const ranges = report.ranges;
  const by = (test: (r: RangeReport) => boolean): RangeReport[] => ranges.filter(test);
  const perRange = ranges.map(rangeRetriedBlocks);
  const retriedBlocks = report.totals.retriedBlocks ?? (perRange.every((n) => n !== null) ? perRange.reduce<number>((a, n) => a + (n ?? 0), 0) : null);
  return {
    total: ranges.length,
    verified: by((r) => r.state === 'verified'),
    rewritten: by((r) => r.state === 'verified' && r.retries > 0),
    failed: by((r) => r.state === 'failed'),
    source: by((r) => r.state === 'source-mismatch'),
    written: by((r) => r.state === 'written'),
    unreached: by((r) => r.state === 'pending' || r.state === 'writing' || r.state === 'retrying'),
    retriedBlocks,
    rewrites: report.totals.rewrittenBlocks,
    badBlocks: by((r) => r.state === 'failed').reduce((n, r) => n + (r.badBlocks ? spanBlocks(r.badBlocks) : r.last - r.first + 1), 0),
    skippedBlocks: report.totals.skippedBlocks ?? null,
  };
}

/** "1 block", "3 blocks". */
export const blocks = (n: number): string => `${n.toLocaleString('en-US')} ${n === 1 ? 'block' : 'blocks'}`;
/** "1 range", "3 ranges". */
export const rangesText = (n: number): string => `${n.toLocaleString('en-US')} ${n === 1 ? 'range' : 'ranges'}`;
/** "1 retry", "3 retries". */
export const retriesText = (n: number): string => `${n} ${n === 1 ? 'retry' : 'retries'}`;

/** "block 10" or "blocks 10–19". */
export function blockSpanText(first: number, last: number): string {
  return first === last ? `block ${first}` : `blocks ${first}–${last}`;
}

/**
 * True when the card must not be used: the report says so, or (older engines) a copy that did not end
 * verified or written after bytes reached the card.
 */
export function unsafeToUse(report: FlashReport): boolean {
  if (report.unsafeToUse !== undefined) return report.unsafeToUse;
  if (report.mode !== 'copy') return false;
  if (report.status === 'verified' || report.status === 'written-unverified') return false;
  return report.totals.bytesWritten > 0;
}
