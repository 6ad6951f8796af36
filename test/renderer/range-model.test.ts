import { describe, expect, it } from 'vitest';
import { blockCells, estimateDone, mapColumns, pendingRange, rangeAt, rangePieces, type RangeLive } from '../../src/renderer/model/range-model';
import type { FlashLayout } from '../../src/shared/report';

const BLOCK = 4096;
const live = (over: Partial<RangeLive>): RangeLive => ({ ...pendingRange, ...over });
const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

/** One range of `blocks` blocks starting at block `first`, in an image of `total` blocks. */
function single(first: number, blocks: number, total: number): FlashLayout {
  return { imageSize: total * BLOCK, blockSize: BLOCK, mappedBytes: blocks * BLOCK, ranges: [{ index: 0, first, last: first + blocks - 1, bytes: blocks * BLOCK }] };
}

describe('range map columns', () => {
  it('4096 small ranges covering 6 % of the image fill 6 % of the map, not all of it', () => {
    // 4096 ranges of 3 blocks, one every 50 blocks: 6 % of 204,800 blocks.
    const ranges = Array.from({ length: 4096 }, (_, index) => ({ index, first: index * 50, last: index * 50 + 2, bytes: 3 * BLOCK }));
    const layout: FlashLayout = { imageSize: 4096 * 50 * BLOCK, blockSize: BLOCK, mappedBytes: 4096 * 3 * BLOCK, ranges };
    const columns = mapColumns(layout, ranges.map(() => live({ state: 'verified' })), 160);
    const covered = sum(columns.map((c) => c.mapped)) / columns.length;
    expect(covered).toBeCloseTo(0.06, 5);
    expect(columns.every((c) => c.mapped < 0.07)).toBe(true);
  });

  it('paints progress inside the range being written, not the whole range', () => {
    const layout = single(0, 100, 100);
    const columns = mapColumns(layout, [live({ state: 'writing', doneBytes: 30 * BLOCK })], 10);
    expect(columns.map((c) => Object.keys(c.parts))).toEqual([['active'], ['active'], ['active'], ['pending'], ['pending'], ['pending'], ['pending'], ['pending'], ['pending'], ['pending']]);
  });

  it('puts one bad block at its place: only its column holds failed bytes and a marker, the rest held', () => {
    // A 14.7 MB range (3600 blocks) with one block that never held, at block 2000.
    const layout = single(0, 3600, 3600);
    const columns = mapColumns(layout, [live({ state: 'failed', retries: 3, badBlocks: [{ first: 2000, last: 2000 }] })], 36);
    const bad = columns.map((c, i) => (c.bad ? i : -1)).filter((i) => i >= 0);
    expect(bad).toEqual([20]);
    expect(columns[20]?.parts.failed).toBe(BLOCK);
    expect(sum(columns.map((c) => c.parts.verified ?? 0))).toBe(3599 * BLOCK);
  });

  it('marks the column of a small range being rewritten, however thin it is drawn', () => {
    // One 4-block range being rewritten in a 100,000-block image: a sliver of one column, with a marker.
    const layout = single(50_000, 4, 100_000);
    const columns = mapColumns(layout, [live({ state: 'retrying', retries: 1 })], 100);
    expect(columns.map((c, i) => (c.rewriting ? i : -1)).filter((i) => i >= 0)).toEqual([50]);
    expect(columns[50]?.mapped).toBeLessThan(0.01);
    expect(columns.filter((c) => c.bad)).toEqual([]);
  });

  it('keeps a range verified after rewrites apart from one verified at once', () => {
    const layout: FlashLayout = {
      imageSize: 200 * BLOCK,
      blockSize: BLOCK,
      mappedBytes: 200 * BLOCK,
      ranges: [
        { index: 0, first: 0, last: 99, bytes: 100 * BLOCK },
        { index: 1, first: 100, last: 199, bytes: 100 * BLOCK },
      ],
    };
    const columns = mapColumns(layout, [live({ state: 'verified' }), live({ state: 'verified', retries: 2 })], 2);
    expect(Object.keys(columns[0]?.parts ?? {})).toEqual(['verified']);
    expect(Object.keys(columns[1]?.parts ?? {})).toEqual(['rewritten']);
  });

  it('paints a range whose image data did not match the bmap as damaged source, not pending', () => {
    const pieces = rangePieces({ index: 0, first: 10, last: 19, bytes: 10 * BLOCK }, live({ state: 'source-mismatch' }), BLOCK);
    expect(pieces).toEqual([{ start: 10 * BLOCK, end: 20 * BLOCK, paint: 'source' }]);
  });

  it('leaves unmapped space empty: a column with no range has nothing mapped', () => {
    const columns = mapColumns(single(50, 10, 100), [live({ state: 'verified' })], 10);
    expect(columns.map((c) => c.mapped)).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(columns[0]?.ranges).toBeNull();
  });
});

describe('pointing at the map', () => {
  const layout: FlashLayout = {
    imageSize: 100 * BLOCK,
    blockSize: BLOCK,
    mappedBytes: 20 * BLOCK,
    ranges: [
      { index: 0, first: 0, last: 9, bytes: 10 * BLOCK },
      { index: 1, first: 80, last: 89, bytes: 10 * BLOCK },
    ],
  };
  it('finds the range under the pointer, or the nearest one in a hole', () => {
    expect(rangeAt(layout, 5 * BLOCK)?.index).toBe(0);
    expect(rangeAt(layout, 85 * BLOCK)?.index).toBe(1);
    expect(rangeAt(layout, 20 * BLOCK)?.index).toBe(0);
    expect(rangeAt(layout, 70 * BLOCK)?.index).toBe(1);
  });
});

describe('block strip', () => {
  const range = { index: 2, first: 1000, last: 1127, bytes: 128 * BLOCK };
  it('shows the bad blocks of a failed range in their own cells, the rest as held', () => {
    const { cells, blocksPerCell } = blockCells(range, live({ state: 'failed', badBlocks: [{ first: 1100, last: 1101 }] }), BLOCK, 64);
    expect(blocksPerCell).toBe(2);
    expect(cells).toHaveLength(64);
    expect(cells.filter((c) => c.paint === 'failed')).toEqual([{ first: 1100, last: 1101, paint: 'failed' }]);
    expect(cells.filter((c) => c.paint === 'verified')).toHaveLength(63);
  });

  it('marks only the blocks that were rewritten in a range verified after a retry', () => {
    const { cells } = blockCells(range, live({ state: 'verified', retries: 1, retriedSpans: [{ first: 1010, last: 1010 }] }), BLOCK, 64);
    expect(cells.filter((c) => c.paint === 'rewritten').map((c) => c.first)).toEqual([1010]);
  });
});

describe('progress the engine did not report per range', () => {
  it('places bytesDone beyond the finished ranges inside the range being written', () => {
    const layout: FlashLayout = {
      imageSize: 300 * BLOCK,
      blockSize: BLOCK,
      mappedBytes: 300 * BLOCK,
      ranges: [0, 1, 2].map((index) => ({ index, first: index * 100, last: index * 100 + 99, bytes: 100 * BLOCK })),
    };
    const lives = [live({ state: 'verified' }), live({ state: 'writing' }), live({})];
    const estimated = estimateDone(layout, lives, 140 * BLOCK);
    expect(estimated[1]?.doneBytes).toBe(40 * BLOCK);
    expect(estimated[2]?.doneBytes).toBeNull();
    // A figure from the engine wins.
    const reported = [live({ state: 'verified' }), live({ state: 'writing', doneBytes: 7 }), live({})];
    expect(estimateDone(layout, reported, 140 * BLOCK)).toBe(reported);
  });
});
