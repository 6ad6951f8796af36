/**
 * The worn card (a FUSE card behind a loop device that corrupts chosen writes) written through the
 * privileged helper: the engine finds the corrupted blocks when it reads them back over the helper and
 * rewrites exactly those, as it does for a card it opens itself; a media error on a card that is still
 * there is retried, a card that vanishes is DEVICE_LOST, one that stops answering DEVICE_STALLED, with the
 * engine's time limit. Build first: `node scripts/build.mjs`.
 */
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { pinDevice } from '../../src/main/engine/device/device-pin';
import { nativeIo, nativeIoMissing } from '../../src/main/system/native-io';
import { startEngineJob } from '../../src/main/engine/worker-client';
import { bmaptoolCreate, expectedRanges, makeSparseImage, fourRangeLayout } from '../helpers/bmap-fixtures';
import { blocksDiffering, describeCardCli } from '../helpers/card-cli-checks';
import { elevateAsChild, requireHelperBuilt } from '../helpers/helper-process';
import { startWornCard, type WornCard, type WornCardOptions } from '../helpers/worn-card';
import type { FlashJob } from '../../src/main/engine/protocol';

const BLOCK = 4096;
const KiB = 1024;
const MiB = 1024 * KiB;

/** Four ranges; blocks: A 0-63, B 256-639, C 1027-1176, D 1792-1816. */
const LAYOUT = fourRangeLayout(21);

// Both ways the helper can give the engine the card: the opened descriptor handed over (the default), and every
// batch served by the helper. Without the native module only the second exists (the first then skips, visibly).
const modes = nativeIo() ? (['descriptor', 'served'] as const) : (['served'] as const);
if (!nativeIo()) process.stderr.write(`privilege-worn-card: the descriptor hand-over is not tested here: ${nativeIoMissing()}\n`);

for (const elevatedIo of modes) describeCardCli(`the worn card written through the privileged helper (${elevatedIo})`, () => {
  let dir = '';
  const cards: WornCard[] = [];
  beforeAll(async () => {
    requireHelperBuilt();
    dir = await fsp.mkdtemp(join(tmpdir(), 'sureflash-helper-worn-'));
  });
  afterEach(async ({ task }) => {
    for (const c of cards.splice(0)) {
      if (task.result?.state === 'fail') process.stderr.write(`worn card stderr (${task.name}):\n${c.stderr()}\n`);
      await c.stop();
    }
  });
  afterAll(async () => {
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  const card = async (options: WornCardOptions): Promise<WornCard> => {
    const c = await startWornCard(options);
    cards.push(c);
    return c;
  };
  /** Flashes the card through the helper (as a plain child); what the helper said and the engine's log go to `said` and `logs`. */
  const flash = async (c: WornCard, image: string, over: Partial<FlashJob> = {}, said: string[] = [], logs: string[] = []) =>
    startEngineJob(
      {
        mode: 'copy',
        image,
        bmapPath: `${image}.bmap`,
        targets: [{ path: c.loop, elevated: await pinDevice(c.loop, 'copy'), elevatedIo }],
        readback: true,
        verifySource: true,
        retries: 3,
        requireBlockDevice: true,
        ...over,
      },
      { onElevate: elevateAsChild(said), onLog: (_level, message) => logs.push(message) },
    );

  it('rewrites exactly the corrupted blocks of transient faults (K = 1..3) and ends verified', async () => {
    const image = await makeSparseImage(dir, 'transient.img', LAYOUT);
    await bmaptoolCreate(image, `${image}.bmap`);
    const c = await card({ size: 16 * MiB, faults: [{ block: 5, count: 1 }, { block: 300, count: 2 }, { block: 600, count: 3 }, { block: 1100, count: 3 }] });
    const said: string[] = [];
    const logs: string[] = [];
    const batch = await (await flash(c, image, {}, said, logs)).done;
    const report = batch.cards[0]!;
    expect(report.status).toBe('verified');
    expect(report.readback).toBe('direct');
    expect(report.ranges.map((r) => ({ first: r.first, last: r.last }))).toEqual(expectedRanges(LAYOUT, BLOCK));
    const stats = await c.stats();
    expect(stats.corruptedByBlock).toEqual({ '5': 1, '300': 2, '600': 3, '1100': 3 });
    expect(report.totals.rewrittenBlocks).toBe(stats.corruptedWrites);
    expect(report.ranges.map((r) => r.retries)).toEqual([1, 3, 3, 0]);
    expect(report.ranges.every((r) => r.state === 'verified')).toBe(true);
    for (const r of expectedRanges(LAYOUT, BLOCK)) expect(await blocksDiffering(c, image, r.first, r.last)).toEqual([]);
    expect(said.join('')).toBe('');
    // The way the helper gave the card to the engine is the one asked for.
    expect(logs.join('\n')).toMatch(elevatedIo === 'descriptor' ? /opened the drive and handed it over/ : /serves the drive's I\/O/);
  });

  it('retries a write that fails with a media error on a card that is still there', async () => {
    const image = await makeSparseImage(dir, 'media.img', LAYOUT);
    await bmaptoolCreate(image, `${image}.bmap`);
    const c = await card({ size: 16 * MiB, writeErrors: [{ block: 300, count: 1 }] });
    const batch = await (await flash(c, image)).done;
    expect(batch.cards[0]!.status).toBe('verified');
    expect(await c.stats()).toMatchObject({ writeErrors: 1 });
    for (const r of expectedRanges(LAYOUT, BLOCK)) expect(await blocksDiffering(c, image, r.first, r.last)).toEqual([]);
  });

  it('a card that vanishes mid-write is DEVICE_LOST', async () => {
    const image = await makeSparseImage(dir, 'vanish.img', { size: 64 * MiB, extents: [{ offset: 0, length: 64 * MiB, seed: 31 }] });
    await bmaptoolCreate(image, `${image}.bmap`);
    const c = await card({ size: 64 * MiB, bus: { readMBps: 80, writeMBps: 20 } });
    const running = await flash(c, image);
    await c.waitFor((s) => s.bytesWritten >= 4 * MiB, 'the first writes');
    await c.kill();
    const batch = await running.done;
    expect(batch.cards[0]!.error).toMatchObject({ code: 'DEVICE_LOST', message: expect.stringMatching(/device lost/) });
  });

  it('a card that stops answering is DEVICE_STALLED after the time limit; the helper goes once the card lets go', async () => {
    const image = await makeSparseImage(dir, 'stall.img', { size: 64 * MiB, extents: [{ offset: 0, length: 64 * MiB, seed: 32 }] });
    await bmaptoolCreate(image, `${image}.bmap`);
    const c = await card({ size: 64 * MiB, bus: { readMBps: 80, writeMBps: 20 } });
    const said: string[] = [];
    const running = await flash(c, image, { ioTimeoutMs: 1500 }, said);
    await c.waitFor((s) => s.bytesWritten >= 2 * MiB, 'the first writes');
    await c.stall();
    const batch = await running.done;
    expect(batch.cards[0]!.error).toMatchObject({ code: 'DEVICE_STALLED', message: expect.stringMatching(/stopped answering: a (write|read|flush) did not complete within 2 s/) });
    await c.resume();
    for (let waited = 0; said.length === 0 && waited < 20_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(said).toHaveLength(1);
  });
});
