/**
 * The card model's bus, through a real loop device: reads and writes share one bus, one command at a time,
 * each taking length / speed (default 20 MB/s write, 80 MB/s read). Asserted on the fixture's own
 * accounting, never on the clock: the scheduled seconds are exactly bytes / speed, and the span from the
 * first command to the last is at least their sum (commands never overlap). Measured throughput is printed
 * for information only.
 */
import { expect, it } from 'vitest';
import { patternBytes } from '../helpers/bmap-fixtures';
import { DEFAULT_BUS, type Card, type CardStats } from '../helpers/card';
import { BLOCK, cardsPerTest, diffBlocks, fdatasyncDevice } from '../helpers/card-checks';
import { readDirect, run, writeDirect } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

const MiB = 1024 * 1024;
const MB = 1e6;

/** `dd` with O_DIRECT between the loop device and /dev/zero or /dev/null; returns wall seconds (for printing). */
async function dd(card: Card, direction: 'write' | 'read', bytes: number): Promise<number> {
  const count = `count=${bytes / (4 * MiB)}`;
  const args = direction === 'write'
    ? ['if=/dev/zero', `of=${card.loop}`, 'bs=4M', count, 'oflag=direct', 'status=none']
    : [`if=${card.loop}`, 'of=/dev/null', 'bs=4M', count, 'iflag=direct', 'status=none'];
  const started = process.hrtime.bigint();
  const result = await run('dd', args, 120_000);
  expect(result.code, result.stderr).toBe(0);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function expectOneAtATime(stats: CardStats): void {
  expect(stats.bus.spanSeconds).toBeGreaterThanOrEqual(stats.bus.readSeconds + stats.bus.writeSeconds);
}

describeRoot('card fixture: bus speed (the card model)', () => {
  const startCard = cardsPerTest();

  it('takes bytes / speed for every write and read at the default SD-card speeds, one command at a time', async () => {
    const card = await startCard({ size: 512 * MiB, bus: {}, dir: '/dev/shm' });
    const written = 32 * MiB;
    const read = 256 * MiB;
    const writeWall = await dd(card, 'write', written);
    const readWall = await dd(card, 'read', read);
    const stats = await card.stats();
    expect(stats.bus).toMatchObject({ readMBps: DEFAULT_BUS.readMBps, writeMBps: DEFAULT_BUS.writeMBps });
    expect(stats.bytesWritten).toBe(written);
    expect(stats.bytesRead).toBe(read);
    expect(stats.bus.writeSeconds).toBeCloseTo(written / (DEFAULT_BUS.writeMBps * MB), 6);
    expect(stats.bus.readSeconds).toBeCloseTo(read / (DEFAULT_BUS.readMBps * MB), 6);
    expectOneAtATime(stats);
    process.stderr.write(`[measure] card model, dd O_DIRECT bs=4M: write ${(written / MB / writeWall).toFixed(1)} MB/s `
      + `(model ${DEFAULT_BUS.writeMBps}), read ${(read / MB / readWall).toFixed(1)} MB/s (model ${DEFAULT_BUS.readMBps}); `
      + `${stats.writes} FUSE writes of ${(written / stats.writes / 1024).toFixed(0)} KiB, ${stats.reads} reads of ${(read / stats.reads / 1024).toFixed(0)} KiB\n`);
  });

  it('shares one bus between a reader and a writer running at once', async () => {
    const card = await startCard({ size: 64 * MiB, bus: { readMBps: 40, writeMBps: 10 } });
    await Promise.all([dd(card, 'write', 8 * MiB), dd(card, 'read', 16 * MiB)]);
    const stats = await card.stats();
    expect(stats.bus.writeSeconds).toBeCloseTo((8 * MiB) / (10 * MB), 6);
    expect(stats.bus.readSeconds).toBeCloseTo((16 * MiB) / (40 * MB), 6);
    expectOneAtATime(stats);
  });

  it('composes: a worn card with a write cache on a slow bus keeps every behaviour', async () => {
    const card = await startCard({ size: 16 * MiB, cacheBlocks: 32, faults: [{ block: 3, count: 1 }], bus: { readMBps: 40, writeMBps: 10 } });
    const data = patternBytes(16 * BLOCK, 7);
    await writeDirect(card.loop, 0, data);
    expect((await readDirect(card.loop, 0, 16 * BLOCK)).equals(data)).toBe(true);
    await fdatasyncDevice(card.loop);
    expect(diffBlocks(data, await readDirect(card.loop, 0, 16 * BLOCK))).toEqual([3]);
    const stats = await card.stats();
    expect(stats.cache).toMatchObject({ writeBacks: 16, damagedWriteBacks: 1 });
    expect(stats.bus.writeSeconds).toBeCloseTo(data.length / (10 * MB), 6);
    expect(stats.bus.readSeconds).toBeCloseTo((2 * data.length) / (40 * MB), 6);
    expectOneAtATime(stats);
  });
}, { fuse: true });
