import { describe, expect, it } from 'vitest';
import { layoutOf, type PlannedRange } from '../../src/main/engine/plan';

const range = (index: number, first: number, blocks: number): PlannedRange => ({
  index,
  first,
  last: first + blocks - 1,
  start: first * 4096,
  end: (first + blocks) * 4096,
  checksum: null,
});

describe('the layout sent when a job starts', () => {
  const ranges = [range(0, 0, 1), range(1, 3, 4), range(2, 10, 2)];

  it('lists every range for a range map, with the count and the mapped bytes', () => {
    const layout = layoutOf(ranges, 20 * 4096, 4096);
    expect(layout.ranges).toEqual([
      { index: 0, first: 0, last: 0, bytes: 4096 },
      { index: 1, first: 3, last: 6, bytes: 4 * 4096 },
      { index: 2, first: 10, last: 11, bytes: 2 * 4096 },
    ]);
    expect(layout.rangeCount).toBe(3);
    expect(layout.mappedBytes).toBe(7 * 4096);
  });

  it('without ranges (the CLI): no per-range objects, the same count and mapped bytes', () => {
    const layout = layoutOf(ranges, 20 * 4096, 4096, false);
    expect(layout.ranges).toEqual([]);
    expect(layout.rangeCount).toBe(3);
    expect(layout.mappedBytes).toBe(7 * 4096);
  });
});
