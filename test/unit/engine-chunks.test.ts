import { describe, expect, it } from 'vitest';
import { hasChecksum, planFromBmap, planWholeImage, pseudoChunkBlocks, type PlannedRange } from '../../src/main/engine/plan';
import { packChunks } from '../../src/main/engine/chunk/pack-chunks';
import { ChunkPool, indexIn } from '../../src/main/engine/chunk/chunk-pool';
import { SharedArena } from '../../src/main/engine/chunk/shared-arena';

const KiB = 1024;
const MiB = 1024 * KiB;
const range = (index: number, start: number, end: number): PlannedRange => ({ index, first: start / 4096, last: Math.ceil(end / 4096) - 1, start, end, checksum: null });

describe('range plans', () => {
  it('clips the last bmap range to the image size', () => {
    const plan = planFromBmap({
      version: '2.0', major: 2, minor: 0, imageSize: 3 * 4096 + 10, blockSize: 4096, blocksCount: 4, mappedBlocksCount: 2,
      checksumType: 'sha256', fileChecksum: null,
      ranges: [{ first: 0, last: 0, checksum: 'a' }, { first: 3, last: 3, checksum: 'b' }],
    });
    expect(plan.map((r) => [r.start, r.end])).toEqual([[0, 4096], [3 * 4096, 3 * 4096 + 10]]);
  });
  it('packs the ranges of a bmap with hex checksums, and reads back exactly what the bmap said', () => {
    const hex = (i: number): string => Buffer.alloc(32, i).toString('hex');
    const bmap = {
      version: '2.0', major: 2, minor: 0, imageSize: 9 * 4096 + 100, blockSize: 4096, blocksCount: 10, mappedBlocksCount: 5,
      checksumType: 'sha256' as const, fileChecksum: null,
      ranges: [{ first: 0, last: 1, checksum: hex(1) }, { first: 4, last: 4, checksum: hex(2).toUpperCase() }, { first: 8, last: 9, checksum: hex(3) }],
    };
    const plan = planFromBmap(bmap);
    expect(plan.map((r) => ({ index: r.index, first: r.first, last: r.last, start: r.start, end: r.end, checksum: r.checksum }))).toEqual([
      { index: 0, first: 0, last: 1, start: 0, end: 8192, checksum: hex(1) },
      { index: 1, first: 4, last: 4, start: 4 * 4096, end: 5 * 4096, checksum: hex(2) },
      { index: 2, first: 8, last: 9, start: 8 * 4096, end: 9 * 4096 + 100, checksum: hex(3) },
    ]);
    expect(plan.every(hasChecksum)).toBe(true);
    const bare = planFromBmap({ ...bmap, checksumType: null, ranges: bmap.ranges.map((r) => ({ ...r, checksum: null })) });
    expect(bare.map((r) => [r.checksum, hasChecksum(r)])).toEqual([[null, false], [null, false], [null, false]]);
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

describe('packChunks', () => {
  it('cuts a big range into chunk-sized pieces, the last one marked', () => {
    const chunks = [...packChunks([range(0, 0, 5 * MiB)], 2 * MiB, 64 * KiB)];
    expect(chunks.map((c) => [c.start, c.end])).toEqual([[0, 2 * MiB], [2 * MiB, 4 * MiB], [4 * MiB, 5 * MiB]]);
    expect(chunks.flatMap((c) => c.pieces.map((p) => p.lastOfRange))).toEqual([false, false, true]);
  });
  it('packs small ranges separated by small gaps into one chunk, and starts a new one after a big gap', () => {
    const ranges = [range(0, 0, 4096), range(1, 8192, 12288), range(2, 16384, 20480), range(3, 10 * MiB, 10 * MiB + 4096)];
    const chunks = [...packChunks(ranges, 2 * MiB, 64 * KiB)];
    expect(chunks).toHaveLength(2);
    expect(chunks[0]?.pieces.map((p) => p.range.index)).toEqual([0, 1, 2]);
    expect([chunks[0]?.start, chunks[0]?.end]).toEqual([0, 20480]);
    expect(chunks[1]?.pieces.map((p) => p.range.index)).toEqual([3]);
  });
  it('never lets a chunk span more than chunkBytes of the image', () => {
    const ranges = Array.from({ length: 600 }, (_, i) => range(i, i * 8192, i * 8192 + 4096));
    const chunks = [...packChunks(ranges, 1 * MiB, 64 * KiB)];
    for (const c of chunks) expect(c.end - c.start).toBeLessThanOrEqual(1 * MiB);
    expect(chunks.reduce((n, c) => n + c.pieces.length, 0)).toBe(600);
    expect(chunks.length).toBeLessThan(10);
  });
  it('works lazily on ranges made while streaming', () => {
    let made = 0;
    function* grown(): Generator<PlannedRange> {
      for (;;) yield range(made, made++ * 4 * MiB, made * 4 * MiB);
    }
    const plans = packChunks(grown(), 2 * MiB, 0);
    expect(plans.next().value?.start).toBe(0);
    expect(made).toBe(1);
  });
});

describe('SharedArena and ChunkPool', () => {
  it('carves page-aligned regions out of shared memory, and a chunk keeps device alignment in its slot', () => {
    const arena = new SharedArena(10 * 65536);
    const a = arena.alloc(5000);
    const b = arena.alloc(4096);
    expect(a.at % 4096).toBe(0);
    expect(b.at).toBe(8192);
    expect(arena.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(() => arena.alloc(10 * 65536)).toThrow(/cannot hold/);
    // A byte at image offset x sits at slot index ≡ x (mod 4096): direct I/O from the slot stays aligned.
    for (const x of [0, 1, 4095, 4096, 12345]) expect(Math.abs((indexIn(x, x + 700) - (x + 700)) % 4096)).toBe(0);
  });
  it('waits for a free slot, tells cards about the pressure, and fails every wait on cancel', async () => {
    const arena = new SharedArena(4 * (64 * KiB + 4096));
    const pool = new ChunkPool(arena, 2, 64 * KiB);
    let pressure = 0;
    pool.onPressure(() => void pressure++);
    const one = await pool.acquire();
    const two = await pool.acquire();
    expect(pool.starved).toBe(false);
    let third: unknown = null;
    const waiting = pool.acquire().then((s) => (third = s));
    await Promise.resolve();
    expect(pool.starved).toBe(true);
    expect(pressure).toBe(1);
    pool.retain(one, 1); // handed to two cards
    pool.release(one);
    await Promise.resolve();
    expect(third).toBeNull();
    pool.release(one);
    await waiting;
    expect(third).toBe(one);
    const stuck = pool.acquire();
    pool.fail(new Error('cancelled'));
    await expect(stuck).rejects.toThrow('cancelled');
    await expect(pool.acquire()).rejects.toThrow('cancelled');
    void two;
  });
});
