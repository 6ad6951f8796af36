/**
 * Media errors in the card fixture, through a real loop device with O_DIRECT I/O: chosen blocks fail with
 * EIO on read (and, in a second plan, on write), count-based, while the card stays present. The loop
 * device hands the EIO of its backing file to the reader or writer of /dev/loopN as EIO (and a failed
 * write-back to fdatasync); a read that contains a bad block fails whole, its neighbours read fine.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { expect, it } from 'vitest';
import { patternBytes } from '../helpers/bmap-fixtures';
import { BLOCK, cardsPerTest, errorOf, fdatasyncDevice } from '../helpers/card-checks';
import { readDirect, writeDirect } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

const MiB = 1024 * 1024;

describeRoot('card fixture: media errors', () => {
  const startCard = cardsPerTest();

  it('fails a read touching a read-error block with EIO, K times or always, and reads its neighbours', async () => {
    const card = await startCard({ size: 16 * MiB, readErrors: [{ block: 10, count: 2 }, { block: 20, count: -1 }] });
    const data = patternBytes(MiB, 1);
    await writeDirect(card.loop, 0, data);

    for (let i = 0; i < 2; i += 1) expect((await errorOf(readDirect(card.loop, 10 * BLOCK, BLOCK), 'read of block 10'))?.code).toBe('EIO');
    expect((await readDirect(card.loop, 10 * BLOCK, BLOCK)).equals(data.subarray(10 * BLOCK, 11 * BLOCK))).toBe(true);
    for (let i = 0; i < 3; i += 1) expect((await errorOf(readDirect(card.loop, 20 * BLOCK, 512), 'read of block 20'))?.code).toBe('EIO');
    expect((await readDirect(card.loop, 19 * BLOCK, BLOCK)).equals(data.subarray(19 * BLOCK, 20 * BLOCK))).toBe(true);
    expect((await readDirect(card.loop, 21 * BLOCK, BLOCK)).equals(data.subarray(21 * BLOCK, 22 * BLOCK))).toBe(true);

    const stats = await card.stats();
    expect(stats.readErrors).toBe(5);
    expect(stats.readErrorsLeft).toEqual({ '10': 0, '20': -1 });
    // The card is still there: the stored bytes are intact and its file is served.
    expect((await card.storedBytes(0, MiB)).equals(data)).toBe(true);
    expect((await fsp.stat(card.file)).size).toBe(16 * MiB);
  });

  it('fails a 1 MiB read whole when one block in it is bad (also past the first FUSE request of it)', async () => {
    const card = await startCard({ size: 16 * MiB, readErrors: [{ block: 200, count: -1 }] });
    await writeDirect(card.loop, 0, patternBytes(MiB, 2));
    expect((await errorOf(readDirect(card.loop, 0, MiB), '1 MiB read'))?.code).toBe('EIO');
    // The parts before the bad block were read; the loop device retries the rest after that short read,
    // so one read of /dev/loopN can meet the bad block more than once (here: 2 on Linux 6.18).
    const stats = await card.stats();
    expect(stats.readErrors).toBeGreaterThanOrEqual(1);
    expect(stats.bytesRead).toBeGreaterThan(0);
    expect((await readDirect(card.loop, MiB, MiB)).length).toBe(MiB);
    const inflight = readFileSync(`/sys/block/${basename(card.loop)}/inflight`, 'utf8').trim().split(/\s+/);
    expect(inflight).toEqual(['0', '0']);
  });

  it('fails a write touching a write-error block with EIO and stores nothing of it; then the block takes writes', async () => {
    const card = await startCard({ size: 16 * MiB });
    const old = patternBytes(4 * BLOCK, 3);
    await writeDirect(card.loop, 40 * BLOCK, old);
    await card.setWriteErrors([{ block: 42, count: 1 }]);
    const fresh = patternBytes(4 * BLOCK, 4);
    expect((await errorOf(writeDirect(card.loop, 40 * BLOCK, fresh), 'write over block 42'))?.code).toBe('EIO');
    expect((await card.storedBytes(40 * BLOCK, 4 * BLOCK)).equals(old)).toBe(true);
    await writeDirect(card.loop, 40 * BLOCK, fresh);
    expect((await readDirect(card.loop, 40 * BLOCK, 4 * BLOCK)).equals(fresh)).toBe(true);
    expect(await card.stats()).toMatchObject({ writeErrors: 1, writeErrorsLeft: { '42': 0 } });
  });

  it('with a write cache: a cached block reads fine over a read error; a failed write-back loses the block and fails the flush', async () => {
    const card = await startCard({ size: 16 * MiB, cacheBlocks: 16, readErrors: [{ block: 3, count: -1 }], writeErrors: [{ block: 7, count: 1 }] });
    const data = patternBytes(8 * BLOCK, 5);
    await writeDirect(card.loop, 0, data);
    expect((await readDirect(card.loop, 0, 8 * BLOCK)).equals(data)).toBe(true);

    expect((await errorOf(fdatasyncDevice(card.loop), 'fdatasync'))?.code).toBe('EIO');
    const stats = await card.stats();
    expect(stats.cache).toMatchObject({ cached: 0, writeBacks: 8, lostWriteBacks: 1 });
    expect((await card.storedBytes(7 * BLOCK, BLOCK)).equals(Buffer.alloc(BLOCK))).toBe(true);
    expect((await card.storedBytes(0, 7 * BLOCK)).equals(data.subarray(0, 7 * BLOCK))).toBe(true);
    // Now block 3 reads from the media, and fails.
    expect((await errorOf(readDirect(card.loop, 3 * BLOCK, BLOCK), 'read of block 3'))?.code).toBe('EIO');
    await fdatasyncDevice(card.loop);
  });
}, { fuse: true });
