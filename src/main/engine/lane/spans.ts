/**
 * Byte spans and block spans: which blocks of a chunk differ, merged; spans grown to whole blocks; block
 * spans merged for reports. Pure helpers of the card stage.
 */
import type { BlockSpan } from '../../../shared/report';

/** Image byte span [start, end). */
export interface Span {
  start: number;
  end: number;
}

/**
 * Blocks (as image byte spans clipped to `within`) where `expected` and `actual` differ. `indexOf` maps an
 * image offset to the index in both buffers. A block is compared over the bytes it has inside `within`
 * (a partial last block over its real bytes only).
 */
export function differingSpans(expected: Buffer, actual: Buffer, indexOf: (offset: number) => number, within: Span, blockSize: number): Span[] {
  const out: Span[] = [];
  const i0 = indexOf(within.start);
  const len = within.end - within.start;
  if (expected.subarray(i0, i0 + len).equals(actual.subarray(i0, i0 + len))) return out;
  for (let b = Math.floor(within.start / blockSize) * blockSize; b < within.end; b += blockSize) {
    const s = Math.max(b, within.start);
    const e = Math.min(b + blockSize, within.end);
    const i = indexOf(s);
    if (expected.subarray(i, i + (e - s)).equals(actual.subarray(i, i + (e - s)))) continue;
    const prev = out[out.length - 1];
    if (prev && prev.end === s) prev.end = e;
    else out.push({ start: s, end: e });
  }
  return out;
}

/** Blocks covered by a byte span. */
export function blocksOf(span: Span, blockSize: number): BlockSpan {
  return { first: Math.floor(span.start / blockSize), last: Math.ceil(span.end / blockSize) - 1 };
}

/** Number of blocks in byte spans (partial blocks count as one). */
export function blockCount(spans: readonly Span[], blockSize: number): number {
  let n = 0;
  for (const s of spans) {
    const b = blocksOf(s, blockSize);
    n += b.last - b.first + 1;
  }
  return n;
}

/** Merges block spans (any order) into ascending, non-overlapping, non-adjacent spans. */
export function mergeBlockSpans(spans: readonly BlockSpan[]): BlockSpan[] {
  const sorted = [...spans].sort((a, b) => a.first - b.first);
  const out: BlockSpan[] = [];
  for (const s of sorted) {
    const prev = out[out.length - 1];
    if (prev && s.first <= prev.last + 1) prev.last = Math.max(prev.last, s.last);
    else out.push({ ...s });
  }
  return out;
}

/** Distinct blocks in merged block spans. */
export function distinctBlocks(spans: readonly BlockSpan[]): number {
  return mergeBlockSpans(spans).reduce((n, s) => n + (s.last - s.first + 1), 0);
}
