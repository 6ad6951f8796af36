/**
 * The card fixture's volatile write cache, through a real loop device with O_DIRECT I/O: an immediate
 * readback sees the cache while the media holds something else; a flush of /dev/loopN reaches the card as
 * an fsync of its backing file and writes the cache back (damaged where the fault plan says) and empties it.
 */
import { promises as fsp } from 'node:fs';
import { expect, it } from 'vitest';
import { patternBytes } from '../helpers/bmap-fixtures';
import { BLOCK, cardsPerTest, diffBlocks, diffOffsets, fdatasyncDevice } from '../helpers/card-checks';
import { readDirect, writeDirect } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

const MiB = 1024 * 1024;
const zeros = (length: number): Buffer => Buffer.alloc(length);

describeRoot('card fixture: volatile write cache', () => {
  const startCard = cardsPerTest();

  it('reads back what it caches while the media holds nothing; after fdatasync the media holds the damaged block and a read shows it', async () => {
    const card = await startCard({ size: 64 * MiB, cacheBlocks: 16, faults: [{ block: 5, count: 1 }] });
    const data = patternBytes(8 * BLOCK, 1);
    await writeDirect(card.loop, 0, data);

    // Immediate readback: good, served from the cache; the media has not been written at all.
    expect((await readDirect(card.loop, 0, 8 * BLOCK)).equals(data)).toBe(true);
    expect((await card.storedBytes(0, 8 * BLOCK)).equals(zeros(8 * BLOCK))).toBe(true);
    const before = await card.stats();
    expect(before.cache).toMatchObject({ blocks: 16, cached: 8, evictions: 0, writeBacks: 0, damagedWriteBacks: 0 });

    await fdatasyncDevice(card.loop);
    const after = await card.stats();
    expect(after.flushes).toBe(before.flushes + 1);
    expect(after.cache).toMatchObject({ cached: 0, evictions: 0, writeBacks: 8, damagedWriteBacks: 1 });
    expect(after.corruptedByBlock).toEqual({ '5': 1 });

    // The media holds block 5 with one byte flipped, and reads now come from the media.
    const stored = await card.storedBytes(0, 8 * BLOCK);
    const flipped = diffOffsets(data, stored);
    expect(flipped).toHaveLength(1);
    expect(Math.floor(flipped[0]! / BLOCK)).toBe(5);
    expect(stored[flipped[0]!]).toBe(data[flipped[0]!]! ^ 0xff);
    expect(after.flips).toEqual([{ block: 5, offset: flipped[0], write: 1 }]);
    const back = await readDirect(card.loop, 0, 8 * BLOCK);
    expect(back.equals(stored)).toBe(true);
    expect((await card.stats()).reads - after.reads).toBeGreaterThanOrEqual(1);

    // Rewritten and flushed again, the spent fault no longer damages the block.
    await writeDirect(card.loop, 5 * BLOCK, data.subarray(5 * BLOCK, 6 * BLOCK));
    await fdatasyncDevice(card.loop);
    expect((await readDirect(card.loop, 0, 8 * BLOCK)).equals(data)).toBe(true);
    expect((await card.storedBytes(0, 8 * BLOCK)).equals(data)).toBe(true);
  });

  it('every fdatasync of /dev/loopN reaches the card as one fsync; O_DIRECT writes and reads alone never do', async () => {
    for (const loop of [{}, { directIo: true, sectorSize: 4096 }]) {
      const card = await startCard({ size: 16 * MiB, cacheBlocks: 64, loop });
      const start = (await card.stats()).flushes;
      await writeDirect(card.loop, 0, patternBytes(MiB, 2));
      await readDirect(card.loop, 0, MiB);
      expect((await card.stats()).flushes).toBe(start);
      for (let i = 1; i <= 3; i += 1) {
        await fdatasyncDevice(card.loop);
        expect((await card.stats()).flushes).toBe(start + i);
      }
      const handle = await fsp.open(card.loop, 'r+');
      await handle.sync().finally(() => handle.close());
      const stats = await card.stats();
      expect(stats.flushes).toBe(start + 4);
      // 1 MiB through a 64-block cache: 192 blocks left it by eviction, the last 64 by the first flush.
      expect(stats.cache).toMatchObject({ cached: 0, evictions: 192, writeBacks: 256 });
    }
  });

  it('evicts the block that entered first (FIFO: a rewrite does not make a block younger)', async () => {
    const card = await startCard({ size: 16 * MiB, cacheBlocks: 4, faults: [{ block: 101, count: -1 }] });
    const blocks = [100, 101, 102, 103];
    const data = new Map(blocks.map((b) => [b, patternBytes(BLOCK, b)]));
    for (const b of blocks) await writeDirect(card.loop, b * BLOCK, data.get(b)!);
    expect((await card.stats()).cache).toMatchObject({ cached: 4, evictions: 0 });

    // Rewriting 100 keeps its place: it is still the oldest, so block 200 pushes it out.
    const newer = patternBytes(BLOCK, 1000);
    await writeDirect(card.loop, 100 * BLOCK, newer);
    await writeDirect(card.loop, 200 * BLOCK, patternBytes(BLOCK, 200));
    expect((await card.stats()).cache).toMatchObject({ cached: 4, evictions: 1, writeBacks: 1 });
    expect((await card.storedBytes(100 * BLOCK, BLOCK)).equals(newer)).toBe(true);
    expect((await card.storedBytes(101 * BLOCK, BLOCK)).equals(zeros(BLOCK))).toBe(true);

    // Next out is 101, a dead block: stored damaged on eviction, while 102 and 103 are still only cached.
    await writeDirect(card.loop, 201 * BLOCK, patternBytes(BLOCK, 201));
    const stats = await card.stats();
    expect(stats.cache).toMatchObject({ cached: 4, evictions: 2, writeBacks: 2, damagedWriteBacks: 1 });
    expect(diffOffsets(data.get(101)!, await card.storedBytes(101 * BLOCK, BLOCK))).toHaveLength(1);
    expect((await card.storedBytes(102 * BLOCK, 2 * BLOCK)).equals(zeros(2 * BLOCK))).toBe(true);
    // The evicted block now reads from the media (damaged); the cached ones read good.
    expect(diffBlocks(Buffer.concat(blocks.slice(1).map((b) => data.get(b)!)), await readDirect(card.loop, 101 * BLOCK, 3 * BLOCK), 101))
      .toEqual([101]);
    expect(stats.flushes).toBe((await card.stats()).flushes);
  });

  it('merges a partial-block write into the block from the media, and serves a read across cached and uncached blocks', async () => {
    const card = await startCard({ size: 16 * MiB, cacheBlocks: 8, loop: { sectorSize: 512 } });
    const base = patternBytes(4 * BLOCK, 3);
    await writeDirect(card.loop, 0, base);
    await fdatasyncDevice(card.loop);
    expect((await card.storedBytes(0, 4 * BLOCK)).equals(base)).toBe(true);

    const sector = patternBytes(512, 4);
    await writeDirect(card.loop, 2 * BLOCK + 3 * 512, sector);
    const expected = Buffer.from(base);
    sector.copy(expected, 2 * BLOCK + 3 * 512);
    expect((await card.stats()).cache?.cached).toBe(1);
    expect((await readDirect(card.loop, 0, 4 * BLOCK)).equals(expected)).toBe(true);
    expect((await card.storedBytes(0, 4 * BLOCK)).equals(base)).toBe(true);
    await fdatasyncDevice(card.loop);
    expect((await card.storedBytes(0, 4 * BLOCK)).equals(expected)).toBe(true);
  });

  it('blank() empties the media and drops the cache without writing it back', async () => {
    const card = await startCard({ size: 16 * MiB, cacheBlocks: 8 });
    await writeDirect(card.loop, 0, patternBytes(2 * BLOCK, 5));
    await fdatasyncDevice(card.loop);
    await writeDirect(card.loop, 4 * BLOCK, patternBytes(BLOCK, 6));
    await card.blank();
    expect((await card.stats()).cache).toMatchObject({ cached: 0, writeBacks: 2 });
    expect((await readDirect(card.loop, 0, 8 * BLOCK)).equals(zeros(8 * BLOCK))).toBe(true);
    expect((await card.storedBytes(0, 8 * BLOCK)).equals(zeros(8 * BLOCK))).toBe(true);
  });
}, { fuse: true });
