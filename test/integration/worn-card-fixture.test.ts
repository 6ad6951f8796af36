import { existsSync, promises as fsp } from 'node:fs';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { patternBytes } from '../helpers/bmap-fixtures';
import { BLOCK, diffOffsets, errorOf } from '../helpers/card-checks';
import { isLoopAttached, loopsBackedBy, readDirect, writeDirect } from '../helpers/loop';
import { describeRoot } from '../helpers/root';
import { isMounted, startWornCard, type WornCard } from '../helpers/worn-card';

const MiB = 1024 * 1024;
const pattern = patternBytes;

describeRoot('worn card fixture: a FUSE card behind a loop device', () => {
  let card: WornCard;

  beforeAll(async () => {
    card = await startWornCard({ size: 64 * MiB, faults: [{ block: 10, count: 2 }, { block: 20, count: -1 }] });
  });
  afterAll(async () => {
    await card?.stop();
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => { process.stderr.write(`worn card stderr:\n${card?.stderr() ?? ''}\n`); });
  });

  it('stores a write exactly, except one flipped byte in each faulty block', async () => {
    const data = pattern(MiB, 1);
    await writeDirect(card.loop, 0, data);
    const back = await readDirect(card.loop, 0, MiB);
    const diffs = diffOffsets(data, back);
    expect(diffs.map((offset) => Math.floor(offset / BLOCK))).toEqual([10, 20]);
    for (const offset of diffs) expect(back[offset]).toBe(data[offset]! ^ 0xff);
    expect((await card.storedBytes(0, MiB)).equals(back)).toBe(true);
    const stats = await card.stats();
    expect(stats.corruptedByBlock).toEqual({ '10': 1, '20': 1 });
    expect(stats.faultsLeft).toEqual({ '10': 1, '20': -1 });
    expect(stats.flips.map((flip) => flip.offset)).toEqual(diffs);
    expect(stats.bytesWritten).toBe(MiB);
  });

  it('corrupts only the first K writes of a block, then stores it correctly', async () => {
    const data = pattern(BLOCK, 2);
    await writeDirect(card.loop, 10 * BLOCK, data);
    expect(diffOffsets(data, await readDirect(card.loop, 10 * BLOCK, BLOCK))).toHaveLength(1);
    for (let i = 0; i < 2; i += 1) {
      await writeDirect(card.loop, 10 * BLOCK, data);
      expect(diffOffsets(data, await readDirect(card.loop, 10 * BLOCK, BLOCK))).toEqual([]);
    }
    const stats = await card.stats();
    expect(stats.corruptedByBlock['10']).toBe(2);
    expect(stats.faultsLeft['10']).toBe(0);
  });

  it('never stores a dead block, and counts every corrupted write', async () => {
    for (let i = 0; i < 5; i += 1) {
      const data = pattern(BLOCK, 10 + i);
      await writeDirect(card.loop, 20 * BLOCK, data);
      expect(diffOffsets(data, await readDirect(card.loop, 20 * BLOCK, BLOCK))).toHaveLength(1);
    }
    const stats = await card.stats();
    expect(stats.corruptedByBlock['20']).toBe(6);
    expect(stats.faultsLeft['20']).toBe(-1);
    expect(stats.corruptedWrites).toBe(8);
  });

  it('counts writes and bytes written', async () => {
    const before = await card.stats();
    await writeDirect(card.loop, 4 * MiB, pattern(512 * 1024, 3));
    const after = await card.stats();
    expect(after.bytesWritten - before.bytesWritten).toBe(512 * 1024);
    expect(after.writes - before.writes).toBeGreaterThanOrEqual(1);
    expect(after.corruptedWrites).toBe(before.corruptedWrites);
  });

  it('takes a new fault plan at run time and rejects a bad one', async () => {
    await card.setFaults([{ block: 5, count: 1 }]);
    const stats = await card.stats();
    expect(stats.faultsLeft).toEqual({ '5': 1 });
    expect(stats.corruptedByBlock).toEqual({ '10': 2, '20': 6 });

    const dead = pattern(BLOCK, 4);
    await writeDirect(card.loop, 20 * BLOCK, dead);
    expect(diffOffsets(dead, await readDirect(card.loop, 20 * BLOCK, BLOCK))).toEqual([]);
    const data = pattern(BLOCK, 5);
    await writeDirect(card.loop, 5 * BLOCK, data);
    expect(diffOffsets(data, await readDirect(card.loop, 5 * BLOCK, BLOCK))).toHaveLength(1);
    await writeDirect(card.loop, 5 * BLOCK, data);
    expect(diffOffsets(data, await readDirect(card.loop, 5 * BLOCK, BLOCK))).toEqual([]);

    await expect(card.setFaults([{ block: -1, count: 1 }])).rejects.toThrow(/EINVAL/);
    expect((await card.stats()).faultsLeft).toEqual({ '5': 0 });
  });

  it('a write touching several faulty blocks flips one byte in each', async () => {
    await card.setFaults([{ block: 100, count: 1 }, { block: 101, count: 1 }, { block: 103, count: 1 }]);
    const data = pattern(8 * BLOCK, 6);
    await writeDirect(card.loop, 98 * BLOCK, data);
    const diffs = diffOffsets(data, await readDirect(card.loop, 98 * BLOCK, 8 * BLOCK));
    expect(diffs.map((offset) => 98 + Math.floor(offset / BLOCK))).toEqual([100, 101, 103]);
  });

  it('hides the corruption from a buffered read after a buffered write (why readback needs O_DIRECT)', async () => {
    await card.setFaults([{ block: 7, count: 1 }]);
    const data = pattern(BLOCK, 7);
    const handle = await fsp.open(card.loop, 'r+');
    const cached = Buffer.alloc(BLOCK);
    const again = Buffer.alloc(BLOCK);
    try {
      await handle.write(data, 0, BLOCK, 7 * BLOCK);
      await handle.sync();
      await handle.read(cached, 0, BLOCK, 7 * BLOCK);
      // A second open while the first is held shares the same page cache.
      const other = await fsp.open(card.loop, 'r');
      await other.read(again, 0, BLOCK, 7 * BLOCK).finally(() => other.close());
    } finally {
      await handle.close();
    }
    // The block device's page cache answers with what was written, not with what the card stored.
    expect(diffOffsets(data, cached)).toEqual([]);
    expect(diffOffsets(data, again)).toEqual([]);
    expect((await card.stats()).corruptedByBlock['7']).toBe(1);
    expect(diffOffsets(data, await readDirect(card.loop, 7 * BLOCK, BLOCK))).toHaveLength(1);
    expect(diffOffsets(data, await card.storedBytes(7 * BLOCK, BLOCK))).toHaveLength(1);
  });

  it('flips the byte inside the written part when a write covers only part of a faulty block', async () => {
    await card.setFaults([{ block: 12, count: 1 }]);
    const sector = pattern(512, 12);
    const offset = 12 * BLOCK + 3 * 512;
    const before = await readDirect(card.loop, 12 * BLOCK, BLOCK);
    await writeDirect(card.loop, offset, sector);
    const after = await readDirect(card.loop, 12 * BLOCK, BLOCK);
    const expected = Buffer.from(before);
    sector.copy(expected, 3 * 512);
    const diffs = diffOffsets(expected, after);
    expect(diffs).toHaveLength(1);
    expect(Math.floor(diffs[0]! / 512)).toBe(3);
  });
}, { fuse: true });

describeRoot('worn card fixture: vanishing and cleanup', () => {
  it('fails loop I/O with EIO (and file access with ENOTCONN) once the card vanishes', async () => {
    const card = await startWornCard({ size: 8 * MiB });
    const { loop, mountpoint, dir } = card;
    try {
      const data = pattern(BLOCK, 8);
      await writeDirect(loop, 0, data);
      await card.kill();
      const readError = await errorOf(readDirect(loop, 0, BLOCK), 'O_DIRECT read after kill');
      expect(readError?.code).toBe('EIO');
      const writeError = await errorOf(writeDirect(loop, 0, data), 'O_DIRECT write after kill');
      expect(writeError?.code).toBe('EIO');
      const statError = await errorOf(fsp.stat(card.file), 'stat of the served file after kill');
      expect(statError?.code).toBe('ENOTCONN');
      expect(await card.storedBytes(0, BLOCK)).toEqual(data);
    } finally {
      await card.stop();
    }
    expect(isLoopAttached(loop)).toBe(false);
    expect(isMounted(mountpoint)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses a bad card size or fault plan at start, with the fixture stderr in the error', async () => {
    await expect(startWornCard({ size: 1000 })).rejects.toThrow(/--size must be a positive multiple of 512/);
    await expect(startWornCard({ size: MiB, faults: [{ block: 1, count: -5 }] })).rejects.toThrow(/count must be an integer >= -1/);
  });

  it('works the same behind a direct-I/O loop device with 4 KiB sectors', async () => {
    const card = await startWornCard({ size: 16 * MiB, loop: { directIo: true, sectorSize: 4096 }, faults: [{ block: 3, count: 1 }] });
    try {
      const data = pattern(MiB, 13);
      await writeDirect(card.loop, 0, data);
      const diffs = diffOffsets(data, await readDirect(card.loop, 0, MiB));
      expect(diffs.map((offset) => Math.floor(offset / BLOCK))).toEqual([3]);
      await writeDirect(card.loop, 3 * BLOCK, data.subarray(3 * BLOCK, 4 * BLOCK));
      expect((await readDirect(card.loop, 0, MiB)).equals(data)).toBe(true);
      expect((await card.stats()).corruptedWrites).toBe(1);
    } finally {
      await card.stop();
    }
  });

  it('stop() leaves no mount, loop device, daemon or files behind; a large card stays sparse', async () => {
    const card = await startWornCard({ size: 8 * 1024 * MiB });
    const { loop, mountpoint, pid, dir } = card;
    expect(isLoopAttached(loop)).toBe(true);
    expect(isMounted(mountpoint)).toBe(true);
    expect(await loopsBackedBy(dir)).toEqual([loop]);

    await writeDirect(loop, 4 * 1024 * MiB, pattern(MiB, 9));
    const stored = await fsp.stat(card.backing);
    expect(stored.size).toBe(8 * 1024 * MiB);
    expect(stored.blocks * 512).toBeLessThan(16 * MiB);

    await card.stop();
    expect(isLoopAttached(loop)).toBe(false);
    expect(await loopsBackedBy(dir)).toEqual([]);
    expect(isMounted(mountpoint)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(existsSync(dir)).toBe(false);
    await card.stop();
  });
}, { fuse: true });
