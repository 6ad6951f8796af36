/**
 * A card that stops answering, through a real loop device: after stall() every read, write and flush of
 * /dev/loopN blocks inside the card (the FUSE call waits) until resume(); kill() ends the wait with EIO;
 * stop() resumes before it detaches. A process blocked on the card sits in D state until then, so every
 * test here un-sticks the card itself, and the afterEach stop() would as well.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { expect, it } from 'vitest';
import { patternBytes } from '../helpers/bmap-fixtures';
import { BLOCK, cardsPerTest, errorOf, fdatasyncDevice, tracked } from '../helpers/card-checks';
import type { Card } from '../helpers/card';
import { isLoopAttached, readDirect, writeDirect } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

const MiB = 1024 * 1024;

function inflight(card: Card): string[] {
  return readFileSync(`/sys/block/${basename(card.loop)}/inflight`, 'utf8').trim().split(/\s+/);
}

/** Stalls the card, starts `io`, and returns it once the card holds at least one command of it. */
async function blockedOn<T>(card: Card, io: () => Promise<T>, what: string): Promise<{ promise: Promise<T>; settled: () => boolean }> {
  await card.stall();
  const call = tracked(io());
  await card.waitFor((s) => s.waiting >= 1, `${what} to reach the stalled card`);
  return call;
}

describeRoot('card fixture: stall', () => {
  const startCard = cardsPerTest();

  it('holds reads, writes and flushes of /dev/loopN while stalled, answers its control files, and completes them on resume', async () => {
    const card = await startCard({ size: 16 * MiB, cacheBlocks: 64 });
    const data = patternBytes(4 * BLOCK, 1);
    await writeDirect(card.loop, 0, data);

    const read = await blockedOn(card, () => readDirect(card.loop, 0, 4 * BLOCK), 'an O_DIRECT read');
    const during = await card.stats();
    expect(during).toMatchObject({ stalled: true, stalls: 1 });
    expect(read.settled()).toBe(false);
    expect(inflight(card)[0]).not.toBe('0');
    await card.resume();
    expect((await read.promise).equals(data)).toBe(true);

    const fresh = patternBytes(4 * BLOCK, 2);
    const write = await blockedOn(card, () => writeDirect(card.loop, 8 * BLOCK, fresh), 'an O_DIRECT write');
    expect(write.settled()).toBe(false);
    expect((await card.stats()).bytesWritten).toBe(data.length);
    await card.resume();
    await write.promise;
    expect((await card.stats()).bytesWritten).toBe(data.length + fresh.length);

    const flushesBefore = (await card.stats()).flushes;
    const flush = await blockedOn(card, () => fdatasyncDevice(card.loop), 'fdatasync');
    expect(flush.settled()).toBe(false);
    expect((await card.stats()).flushes).toBe(flushesBefore);
    await card.resume();
    await flush.promise;
    const after = await card.stats();
    expect(after).toMatchObject({ stalled: false, waiting: 0, stalls: 3, flushes: flushesBefore + 1 });
    expect((await card.storedBytes(8 * BLOCK, fresh.length)).equals(fresh)).toBe(true);
    expect(inflight(card)).toEqual(['0', '0']);
  });

  it('kill() un-sticks a stalled card: the blocked read fails with EIO and later I/O fails at once', async () => {
    const card = await startCard({ size: 16 * MiB });
    const read = await blockedOn(card, () => readDirect(card.loop, 0, BLOCK), 'an O_DIRECT read');
    await card.kill();
    expect((await errorOf(read.promise, 'the blocked read after kill'))?.code).toBe('EIO');
    expect((await errorOf(writeDirect(card.loop, 0, patternBytes(BLOCK, 3)), 'a write after kill'))?.code).toBe('EIO');
    expect(inflight(card)).toEqual(['0', '0']);
  });

  it('stop() un-sticks a stalled card: the blocked write completes before the loop device is detached', async () => {
    const card = await startCard({ size: 16 * MiB });
    const data = patternBytes(MiB, 4);
    const write = await blockedOn(card, () => writeDirect(card.loop, 0, data), 'an O_DIRECT write');
    await card.stop();
    expect(await errorOf(write.promise, 'the blocked write after stop')).toBeNull();
    expect(isLoopAttached(card.loop)).toBe(false);
  });
}, { fuse: true });
