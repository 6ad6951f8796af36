/**
 * Counterfeit capacity in the card fixture, through a real loop device with O_DIRECT I/O: the card declares
 * 64 MiB and stores 16 MiB. Wrap: every address is taken modulo 16 MiB, so a later write silently
 * overwrites earlier data while a readback right after each write looks good. Drop: writes beyond 16 MiB
 * are lost and read back as zeros.
 */
import { promises as fsp } from 'node:fs';
import { expect, it } from 'vitest';
import { patternBytes } from '../helpers/bmap-fixtures';
import { BLOCK, cardsPerTest } from '../helpers/card-checks';
import { readDirect, run, writeDirect } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

const MiB = 1024 * 1024;
const CLAIMED = 64 * MiB;
const REAL = 16 * MiB;

describeRoot('card fixture: counterfeit capacity', () => {
  const startCard = cardsPerTest();

  it('declares the claimed size to the loop device and stores only the real bytes', async () => {
    const card = await startCard({ size: CLAIMED, realSize: REAL });
    const size = await run('blockdev', ['--getsize64', card.loop]);
    expect(size.stdout.trim()).toBe(String(CLAIMED));
    expect((await fsp.stat(card.backing)).size).toBe(REAL);
    expect(await card.stats()).toMatchObject({ size: CLAIMED, realSize: REAL, overflow: 'wrap' });
  });

  it('wrap: a write 16 MiB further on overwrites the first, and each looks right when read back at once', async () => {
    const card = await startCard({ size: CLAIMED, realSize: REAL });
    const first = patternBytes(64 * 1024, 1);
    const second = patternBytes(64 * 1024, 2);
    await writeDirect(card.loop, MiB, first);
    expect((await readDirect(card.loop, MiB, first.length)).equals(first)).toBe(true);
    await writeDirect(card.loop, MiB + REAL, second);
    expect((await readDirect(card.loop, MiB + REAL, second.length)).equals(second)).toBe(true);

    // The first write is gone: both addresses read the second, which is all the media holds there.
    expect((await readDirect(card.loop, MiB, first.length)).equals(second)).toBe(true);
    expect((await readDirect(card.loop, MiB + 3 * REAL, second.length)).equals(second)).toBe(true);
    expect((await card.storedBytes(MiB, second.length)).equals(second)).toBe(true);
    expect((await card.stats()).wrappedBytes).toBe(second.length);
  });

  it('wrap: a write across the real size continues at address 0', async () => {
    const card = await startCard({ size: CLAIMED, realSize: REAL });
    const data = patternBytes(2 * BLOCK, 3);
    await writeDirect(card.loop, REAL - BLOCK, data);
    expect((await card.storedBytes(REAL - BLOCK, BLOCK)).equals(data.subarray(0, BLOCK))).toBe(true);
    expect((await card.storedBytes(0, BLOCK)).equals(data.subarray(BLOCK))).toBe(true);
    expect((await readDirect(card.loop, 0, BLOCK)).equals(data.subarray(BLOCK))).toBe(true);
    expect((await card.stats()).wrappedBytes).toBe(BLOCK);
  });

  it('drop: writes beyond the real size are lost and read back as zeros; below it the card is normal', async () => {
    const card = await startCard({ size: CLAIMED, realSize: REAL, overflow: 'drop' });
    const low = patternBytes(64 * 1024, 4);
    const high = patternBytes(64 * 1024, 5);
    await writeDirect(card.loop, MiB, low);
    await writeDirect(card.loop, MiB + REAL, high);
    expect((await readDirect(card.loop, MiB + REAL, high.length)).equals(Buffer.alloc(high.length))).toBe(true);
    expect((await readDirect(card.loop, MiB, low.length)).equals(low)).toBe(true);
    expect((await card.storedBytes(MiB, low.length)).equals(low)).toBe(true);
    const stats = await card.stats();
    expect(stats).toMatchObject({ overflow: 'drop', droppedBytes: high.length, wrappedBytes: 0, bytesWritten: 2 * high.length });
  });

  it('refuses a real size that is not a whole number of 4 KiB blocks or exceeds the card', async () => {
    await expect(startCard({ size: CLAIMED, realSize: REAL + 512 })).rejects.toThrow(/--real-size must be a positive multiple of 4096/);
    await expect(startCard({ size: REAL, realSize: CLAIMED })).rejects.toThrow(/at most --size/);
  });
}, { fuse: true });
