/**
 * A bmap of many small ranges (1–3 blocks with holes, as a fragmented file system has) through the built CLI
 * to the FUSE card, where the device thread writes each chunk's ranges many in flight (the native module's
 * writeMany; one by one when it is not built). A write error in the middle of a chunk is blamed on exactly
 * its range, the writes that were in flight after it count as not done and are written again, and the card
 * ends byte-exact; a block that never takes a write fails the card with that block named, every other range
 * verified; a card that stalls while writes are in flight ends DEVICE_STALLED (and the process exits once
 * the card lets go), one pulled ends DEVICE_LOST.
 *
 * Build first: `node scripts/build.mjs`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeSparseImage, writeBmap } from '../helpers/bmap-fixtures';
import { cardsPerTest } from '../helpers/card-checks';
import { blocksDiffering, expectExit, rangeHolding } from '../helpers/card-cli-checks';
import type { BatchReport, FlashReport } from '../../src/shared/report';
import { cliBuilt, describeRun, runCli } from '../helpers/cli';
import { describeRoot } from '../helpers/root';

const MiB = 1024 * 1024;
const BLOCK = 4096;
const SIZE = 16 * MiB;

/** 600 ranges of 1–3 blocks, each followed by a hole of 1–2 blocks (deterministic). */
function manyRanges(): { first: number; last: number }[] {
  const out: { first: number; last: number }[] = [];
  let block = 8;
  for (let i = 0; i < 600; i++) {
    const blocks = 1 + ((i * 7) % 3);
    out.push({ first: block, last: block + blocks - 1 });
    block += blocks + 1 + (i % 2);
  }
  return out;
}

/** Waits until `file` holds a JSON report whose status is no longer in-progress. */
async function finalReport(file: string, ms: number): Promise<BatchReport> {
  for (let waited = 0; waited < ms; waited += 50) {
    if (existsSync(file)) {
      const value = JSON.parse(readFileSync(file, 'utf8')) as BatchReport | { status: string };
      if (value.status !== 'in-progress') return value as BatchReport;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no final report in ${file} within ${ms} ms`);
}

describeRoot('many small ranges to a card, written many in flight', () => {
  const startCard = cardsPerTest();
  const ranges = manyRanges();
  let dir = '';
  let image = '';
  let bmap = '';
  // A block in the middle of a range in the middle of the image (a chunk holds hundreds of ranges).
  const bad = ranges[300] as { first: number; last: number };
  const badBlock = bad.last;

  beforeAll(async () => {
    if (!cliBuilt()) throw new Error('build the CLI first: node scripts/build.mjs');
    dir = mkdtempSync(join(tmpdir(), 'sureflash-many-ranges-'));
    image = await makeSparseImage(dir, 'fragmented.img', {
      size: SIZE,
      extents: ranges.map((r, i) => ({ offset: r.first * BLOCK, length: (r.last - r.first + 1) * BLOCK, seed: 1000 + i })),
    });
    bmap = `${image}.bmap`;
    await writeBmap(image, bmap, BLOCK, ranges);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a write error inside a chunk of 600 ranges: retried on exactly that range, every range verified, the card byte-exact', async () => {
    const card = await startCard({ size: 32 * MiB, writeErrors: [{ block: badBlock, count: 1 }] });
    const result = await runCli(['copy', '--bmap', bmap, '--checksum-retry=2', '--no-history', '-q', image, card.loop]);
    const report = expectExit(result, 0);
    expect(report.status).toBe('verified');
    expect(report.ranges).toHaveLength(600);
    expect((await card.stats()).writeErrors).toBe(1);
    expect(rangeHolding(report, badBlock).mediaErrors).toBe(1);
    // No other range is blamed: the writes in flight with the failing one were written again, not counted as errors.
    expect(report.ranges.filter((r) => (r.mediaErrors ?? 0) > 0).map((r) => r.first)).toEqual([bad.first]);
    expect(report.ranges.every((r) => r.state === 'verified')).toBe(true);
    expect(await blocksDiffering(card, image, 0, SIZE / BLOCK - 1)).toEqual([]);
  }, 120_000);

  it('a block that never takes a write: the card fails with that block named, every other range verified, never DEVICE_LOST', async () => {
    const card = await startCard({ size: 32 * MiB, writeErrors: [{ block: badBlock, count: -1 }] });
    const result = await runCli(['copy', '--bmap', bmap, '--checksum-retry=1', '--no-history', '-q', image, card.loop]);
    const report = expectExit(result, 1);
    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('READBACK_MISMATCH');
    const range = rangeHolding(report, badBlock);
    expect(range.state).toBe('failed');
    expect(range.badBlocks?.some((b) => b.first <= badBlock && badBlock <= b.last)).toBe(true);
    expect(report.ranges.filter((r) => r.state !== 'verified').map((r) => r.first)).toEqual([bad.first]);
    expect(result.stderr).not.toMatch(/device lost/i);
    // Every block but the dead one holds the image.
    expect(await blocksDiffering(card, image, 0, SIZE / BLOCK - 1)).toEqual([badBlock]);
  }, 120_000);

  it('the card stops answering mid-copy (its writes going many in flight): DEVICE_STALLED within --io-timeout; the process exits once it is un-stuck', async () => {
    const card = await startCard({ size: 32 * MiB, bus: { writeMBps: 2, readMBps: 8 } });
    const reportFile = join(dir, 'stall-report.json');
    let stuck = false;
    const running = runCli(['copy', '--report', reportFile, '--bmap', bmap, '--io-timeout', '2', '--no-history', '-q', image, card.loop], { report: false, timeoutMs: 120_000 });
    try {
      await card.waitFor((s) => s.bytesWritten >= 256 * 1024, 'a quarter MiB written', 60_000);
      await card.stall();
      stuck = true;
      const batch = await finalReport(reportFile, 60_000);
      expect((await card.stats()).stalled).toBe(true);
      const report = batch.cards[0] as FlashReport;
      expect(report.status).toBe('failed');
      expect(report.error?.code).toBe('DEVICE_STALLED');
    } finally {
      if (stuck) await card.resume();
    }
    const result = await running;
    expect(result.hung, describeRun(result)).toBe(false);
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr).toMatch(/stopped answering/);
  }, 120_000);

  it('the card vanishes mid-copy (its writes going many in flight): DEVICE_LOST, and the process exits', async () => {
    // A slow bus keeps the copy going long enough to pull the card in the middle of it.
    const card = await startCard({ size: 32 * MiB, bus: { writeMBps: 2, readMBps: 8 } });
    const running = runCli(['copy', '--bmap', bmap, '--no-history', '-q', image, card.loop]);
    await card.waitFor((s) => s.bytesWritten >= 256 * 1024, 'a quarter MiB written', 60_000).catch(async (error: unknown) => {
      await card.kill();
      await running;
      throw error;
    });
    await card.kill();
    const result = await running;
    const report = expectExit(result, 1);
    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('DEVICE_LOST');
    expect(result.stderr).toMatch(/device lost/i);
    expect(report.totals.bytesWritten).toBeLessThan(report.totals.mappedBytes);
  }, 120_000);
}, { fuse: true });
