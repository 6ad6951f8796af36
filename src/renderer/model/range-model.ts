/**
 * The range map's model, pure: what each range looks like now (from progress events or the report), cut into
 * the pieces a map paints (progress inside a range, bad blocks at their place, retried-then-verified apart),
 * folded into columns across the whole image. A column's height is the share of its bytes the bmap maps, so
 * 4096 small ranges covering 6 % of an image never look like a full bar.
 */
import type { BlockSpan, FlashLayout, RangeState } from '../../shared/report';

/** What one range looks like at the moment. */
export interface RangeLive {
  state: RangeState;
  /** Rewrite passes so far. */
  retries: number;
  /** Bytes of the range handled so far; null when the engine does not say (see estimateDone). */
  doneBytes: number | null;
  /** Blocks that never held (failed ranges). */
  badBlocks: BlockSpan[] | null;
  /** Blocks that needed a rewrite. */
  retriedSpans: BlockSpan[] | null;
}

export const pendingRange: RangeLive = { state: 'pending', retries: 0, doneBytes: null, badBlocks: null, retriedSpans: null };

/**
 * How a part of the image is painted. `active`: handled in this pass (written and being read back, or read in
 * verify mode); `rewritten`: verified after some of its blocks were rewritten; `source`: the image's own data
 * does not match the bmap here (the image is damaged).
 */
export type Paint = 'pending' | 'active' | 'written' | 'verified' | 'rewritten' | 'retrying' | 'failed' | 'source';

/** Bottom to top in a column: what matters most sits at the base, where it is seen first. */
export const PAINT_ORDER: readonly Paint[] = ['failed', 'source', 'retrying', 'rewritten', 'verified', 'written', 'active', 'pending'];

export type LayoutRange = FlashLayout['ranges'][number];

export interface Piece {
  start: number;
  end: number;
  paint: Paint;
}

const clamp = (value: number, low: number, high: number): number => Math.max(low, Math.min(high, value));

/** Bytes of `spans` (blocks) inside [start, end) of the image. */
function spanPieces(spans: readonly BlockSpan[], blockSize: number, start: number, end: number): { start: number; end: number }[] {
  return spans
    .map((s) => ({ start: clamp(s.first * blockSize, start, end), end: clamp((s.last + 1) * blockSize, start, end) }))
    .filter((s) => s.end > s.start)
    .sort((a, b) => a.start - b.start);
}

/** The pieces one range paints, in image order. */
export function rangePieces(range: LayoutRange, live: RangeLive, blockSize: number): Piece[] {
  const start = range.first * blockSize;
  const end = start + range.bytes;
  switch (live.state) {
    case 'pending':
      return [{ start, end, paint: 'pending' }];
    case 'writing': {
      const done = start + clamp(live.doneBytes ?? 0, 0, range.bytes);
      return [
        { start, end: done, paint: 'active' as const },
        { start: done, end, paint: 'pending' as const },
      ].filter((p) => p.end > p.start);
    }
    case 'written':
      return [{ start, end, paint: 'written' }];
    case 'verified':
      return [{ start, end, paint: live.retries > 0 ? 'rewritten' : 'verified' }];
    case 'retrying':
      return [{ start, end, paint: 'retrying' }];
    case 'source-mismatch':
      return [{ start, end, paint: 'source' }];
    case 'failed': {
      if (!live.badBlocks || live.badBlocks.length === 0) return [{ start, end, paint: 'failed' }];
      // The blocks that held are verified; only the bad ones are painted failed, where they are.
      const pieces: Piece[] = [];
      let at = start;
      for (const bad of spanPieces(live.badBlocks, blockSize, start, end)) {
        if (bad.start > at) pieces.push({ start: at, end: bad.start, paint: 'verified' });
        pieces.push({ start: Math.max(at, bad.start), end: bad.end, paint: 'failed' });
        at = Math.max(at, bad.end);
      }
      if (at < end) pieces.push({ start: at, end, paint: 'verified' });
      return pieces.filter((p) => p.end > p.start);
    }
  }
}

export interface MapColumn {
  /** Share of the column's bytes that the bmap maps (0–1). */
  mapped: number;
  /** Bytes per paint inside the column. */
  parts: Partial<Record<Paint, number>>;
  /** The column holds blocks that never held: it gets a marker, however few they are. */
  bad: boolean;
  /** The column holds a range being rewritten right now: it gets a marker too (a small range is a sliver). */
  rewriting: boolean;
  /** First and last range index that touch the column, or null for unmapped space. */
  ranges: [number, number] | null;
}

/** The image's extent the map draws: its size, or the mapped bytes when the size is unknown. */
export const mapTotal = (layout: FlashLayout): number => (layout.imageSize > 0 ? layout.imageSize : Math.max(1, layout.mappedBytes));

/** Folds every range's pieces into `count` equal columns across the image. */
export function mapColumns(layout: FlashLayout, lives: readonly RangeLive[], count: number): MapColumn[] {
  const total = mapTotal(layout);
  const width = total / count;
  const columns: MapColumn[] = Array.from({ length: count }, () => ({ mapped: 0, parts: {}, bad: false, rewriting: false, ranges: null }));
  for (const range of layout.ranges) {
    const live = lives[range.index] ?? pendingRange;
    for (const piece of rangePieces(range, live, layout.blockSize)) {
      const firstColumn = clamp(Math.floor(piece.start / width), 0, count - 1);
      const lastColumn = clamp(Math.floor((piece.end - 1) / width), 0, count - 1);
      for (let c = firstColumn; c <= lastColumn; c += 1) {
        const column = columns[c];
        if (!column) continue;
        const overlap = Math.max(0, Math.min(piece.end, (c + 1) * width) - Math.max(piece.start, c * width));
        column.parts[piece.paint] = (column.parts[piece.paint] ?? 0) + overlap;
        column.mapped += overlap / width;
        if (piece.paint === 'failed') column.bad = true;
        if (piece.paint === 'retrying') column.rewriting = true;
        column.ranges = column.ranges ? [column.ranges[0], range.index] : [range.index, range.index];
      }
    }
  }
  for (const column of columns) column.mapped = Math.min(1, column.mapped);
  return columns;
}

/** The range at (or nearest to) byte `offset` of the image, for pointing at the map. */
export function rangeAt(layout: FlashLayout, offset: number): LayoutRange | null {
  const ranges = layout.ranges;
  if (ranges.length === 0) return null;
  let low = 0;
  let high = ranges.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    const r = ranges[mid];
    if (r && r.first * layout.blockSize <= offset) low = mid;
    else high = mid - 1;
  }
  const here = ranges[low];
  const next = ranges[low + 1];
  if (!here) return null;
  const hereEnd = here.first * layout.blockSize + here.bytes;
  if (offset < hereEnd || !next) return here;
  return next.first * layout.blockSize - offset < offset - hereEnd ? next : here;
}

export interface BlockCell {
  first: number;
  last: number;
  paint: Paint;
}

const touches = (spans: readonly BlockSpan[] | null, first: number, last: number): boolean =>
  spans !== null && spans.some((s) => s.first <= last && s.last >= first);

/** The selected range cut into at most `maxCells` cells of whole blocks, each painted by its worst block. */
export function blockCells(range: LayoutRange, live: RangeLive, blockSize: number, maxCells = 64): { cells: BlockCell[]; blocksPerCell: number } {
  const blocks = range.last - range.first + 1;
  const blocksPerCell = Math.max(1, Math.ceil(blocks / maxCells));
  const cells: BlockCell[] = [];
  const done = live.doneBytes ?? 0;
  for (let first = range.first; first <= range.last; first += blocksPerCell) {
    const last = Math.min(range.last, first + blocksPerCell - 1);
    let paint: Paint;
    if (live.state === 'source-mismatch') paint = 'source';
    else if (touches(live.badBlocks, first, last)) paint = 'failed';
    else if (live.state === 'failed' && !live.badBlocks?.length) paint = 'failed';
    else if (live.state === 'retrying') paint = 'retrying';
    else if (live.state === 'pending') paint = 'pending';
    else if (live.state === 'writing') paint = (first - range.first) * blockSize < done ? 'active' : 'pending';
    else if (live.state === 'written') paint = 'written';
    else if (live.retriedSpans && live.retriedSpans.length > 0) paint = touches(live.retriedSpans, first, last) ? 'rewritten' : 'verified';
    else paint = live.retries > 0 && live.state === 'verified' ? 'rewritten' : 'verified';
    cells.push({ first, last, paint });
  }
  return { cells, blocksPerCell };
}

/**
 * Progress inside ranges the engine did not report it for: what `bytesDone` holds beyond the ranges already
 * handled is spread over the ranges being written, in image order (the engine writes them in order).
 */
export function estimateDone(layout: FlashLayout, lives: RangeLive[], bytesDone: number): RangeLive[] {
  let finished = 0;
  for (const range of layout.ranges) {
    const state = lives[range.index]?.state;
    if (state && state !== 'pending' && state !== 'writing') finished += range.bytes;
  }
  let left = Math.max(0, bytesDone - finished);
  let changed = false;
  const out = lives.slice();
  for (const range of layout.ranges) {
    const live = out[range.index];
    if (!live || live.state !== 'writing' || live.doneBytes !== null) continue;
    const here = Math.min(range.bytes, left);
    left -= here;
    out[range.index] = { ...live, doneBytes: here };
    changed = true;
  }
  return changed ? out : lives;
}
