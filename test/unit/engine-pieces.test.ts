import { describe, expect, it } from 'vitest';
import { JobState, PROGRESS_INTERVAL_MS } from '../../src/main/engine/job-state';
import { planFromBmap, planWholeImage, pseudoChunkBlocks } from '../../src/main/engine/plan';
import { differingSpans } from '../../src/main/engine/window-tasks';
import { AlignedSlab } from '../../src/main/engine/aligned-buffers';
import { WindowPool } from '../../src/main/engine/window-pool';
import type { FlashProgress } from '../../src/shared/report';

describe('differingSpans', () => {
  const block = 4096;
  const base = (): Buffer => Buffer.alloc(8 * block, 7);
  it('finds nothing in equal windows', () => {
    expect(differingSpans(base(), base(), block, [{ start: 0, end: 8 * block }])).toEqual([]);
  });
  it('names each differing block and merges neighbours', () => {
    const actual = base();
    actual[block * 2 + 5] = 0;
    actual[block * 3] = 0;
    actual[block * 6 + 4095] = 0;
    expect(differingSpans(base(), actual, block, [{ start: 0, end: 8 * block }])).toEqual([
      { start: 2 * block, end: 4 * block },
      { start: 6 * block, end: 7 * block },
    ]);
  });
  it('compares a partial last block over its real bytes only', () => {
    const expected = Buffer.alloc(block + 100, 1);
    const actual = Buffer.alloc(block + 100, 1);
    actual[block + 99] = 2;
    expect(differingSpans(expected, actual, block, [{ start: 0, end: block + 100 }])).toEqual([{ start: block, end: block + 100 }]);
  });
  it('only looks inside the spans it is given', () => {
    const actual = base();
    actual[0] = 0;
    expect(differingSpans(base(), actual, block, [{ start: block, end: 2 * block }])).toEqual([]);
  });
});

describe('range plans', () => {
  it('clips the last bmap range to the image size', () => {
    const plan = planFromBmap({
      version: '2.0', major: 2, minor: 0, imageSize: 3 * 4096 + 10, blockSize: 4096, blocksCount: 4, mappedBlocksCount: 2,
      checksumType: 'sha256', fileChecksum: null,
      ranges: [{ first: 0, last: 0, checksum: 'a' }, { first: 3, last: 3, checksum: 'b' }],
    });
    expect(plan.map((r) => [r.start, r.end])).toEqual([[0, 4096], [3 * 4096, 3 * 4096 + 10]]);
  });
  it('cuts a whole image into at most about 256 pseudo-ranges of at least 16 MiB', () => {
    const size = 8 * 1024 ** 3 + 5;
    const plan = planWholeImage(size);
    expect(plan.length).toBeLessThanOrEqual(257);
    expect(plan[plan.length - 1]?.end).toBe(size);
    expect(pseudoChunkBlocks(1024 * 1024)).toBe(4096);
    for (let i = 1; i < plan.length; i++) expect(plan[i]?.start).toBe(plan[i - 1]?.end);
  });
});

describe('JobState progress', () => {
  it('throttles events, batches range changes and forces one on phase changes', () => {
    let now = 1000;
    const events: FlashProgress[] = [];
    const state = new JobState(planWholeImage(64 * 1024 * 1024), (p) => events.push(p), () => now);
    state.setPhase('writing');
    expect(events).toHaveLength(1);
    state.setRangeState(0, 'writing');
    state.addDone(1000);
    expect(events).toHaveLength(1);
    now += PROGRESS_INTERVAL_MS;
    state.addRetry(0, 2);
    expect(events).toHaveLength(2);
    expect(events[1]?.rangeChanges).toEqual([
      { index: 0, state: 'writing', retries: 0 },
      { index: 0, state: 'retrying', retries: 1 },
    ]);
    expect(events[1]?.retries).toBe(1);
    expect(state.rangeReports()[0]?.rewrittenBlocks).toBe(2);
  });
});

describe('AlignedSlab', () => {
  it('gives page-aligned, non-overlapping slots', () => {
    const slab = new AlignedSlab(4096 * 3, 4);
    expect(slab.slots).toHaveLength(4);
    slab.slots[1]?.fill(1);
    expect(slab.slots[0]?.every((b) => b === 0)).toBe(true);
    expect(slab.slots.every((s) => s.byteOffset % 4096 === 0)).toBe(true);
    expect(() => new AlignedSlab(1000, 1)).toThrow(/multiple of 4096/);
  });
});

describe('WindowPool', () => {
  it('keeps at most `limit` tasks in flight and wakes waiters on cancel', async () => {
    const controller = new AbortController();
    const pool = new WindowPool(4096, 4, controller.signal);
    pool.setLimit(1);
    let release!: () => void;
    const first = await pool.acquire();
    pool.launch(first, () => new Promise<void>((r) => (release = r)));
    let second: unknown = null;
    const waiting = pool.acquire().then((slot) => (second = slot));
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBeNull(); // a free slot exists, but the limit holds it back
    release();
    await waiting;
    expect(second).not.toBeNull();
    const held = second as Awaited<ReturnType<WindowPool['acquire']>>;
    pool.launch(held, () => new Promise<void>(() => undefined)); // never ends: a stuck device
    const stuck = pool.acquire();
    controller.abort();
    await expect(stuck).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
