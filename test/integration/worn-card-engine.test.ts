/**
 * The engine through the real CLI against the worn card (a FUSE card behind a loop device that corrupts
 * chosen writes): block-level retry, dead blocks, a readback that really reads the device, verify, a card
 * that vanishes, bounded memory on a 1 GiB range, and Ctrl-C. Build first: `node scripts/build.mjs`.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { bmaptoolCreate, expectedRanges, makeSparseImage, fourRangeLayout, STANDARD_LAYOUT, type SparseLayout, makeRandomSparseImage } from '../helpers/bmap-fixtures';
import { blocksDiffering, describeCardCli, expectExit, rangeHolding, sortedBadBlocks } from '../helpers/card-cli-checks';
import { canMeasureRss, cliBuilt, runCli } from '../helpers/cli';
import { readBytes, writeDirect, type LoopOptions } from '../helpers/loop';
import { startWornCard, type WornCard, type WornCardFault } from '../helpers/worn-card';

const BLOCK = 4096;
const KiB = 1024;
const MiB = 1024 * KiB;

/** Four ranges; blocks: A 0-63, B 256-639, C 1027-1176, D 1792-1816. */
const LAYOUT = fourRangeLayout(21);

interface Image {
  path: string;
  bmap: string;
  ranges: { first: number; last: number }[];
}

const work = { dir: '' };
const cards: WornCard[] = [];

async function makeImage(name: string, layout: SparseLayout): Promise<Image> {
  const path = await makeSparseImage(work.dir, name, layout);
  const bmap = `${path}.bmap`;
  await bmaptoolCreate(path, bmap);
  return { path, bmap, ranges: expectedRanges(layout, BLOCK) };
}

/** A sparse image of `size` bytes with one range of random bytes (written in chunks, never all in memory). */
async function makeRandomImage(name: string, size: number, offset: number, length: number): Promise<Image> {
  const image = await makeRandomSparseImage(work.dir, name, size, offset, length);
  return { ...image, ranges: [{ first: offset / BLOCK, last: (offset + length) / BLOCK - 1 }] };
}

async function card(size: number, faults: WornCardFault[] = [], loop?: LoopOptions): Promise<WornCard> {
  const c = await startWornCard({ size, faults, ...(loop ? { loop } : {}) });
  cards.push(c);
  return c;
}

const readImage = readBytes;

/** Over [offset, offset + length): blocks where the card stores the image's bytes, and blocks it holds as zeros. */
async function compareBlocks(c: WornCard, image: string, offset: number, length: number): Promise<{ matching: number; zero: number }> {
  const zeros = Buffer.alloc(BLOCK);
  let matching = 0;
  let zero = 0;
  for (let at = offset; at < offset + length; at += 16 * MiB) {
    const n = Math.min(16 * MiB, offset + length - at);
    const want = await readImage(image, at, n);
    const got = await c.storedBytes(at, n);
    for (let b = 0; b < n; b += BLOCK) {
      const stored = got.subarray(b, b + BLOCK);
      if (stored.equals(want.subarray(b, b + BLOCK))) matching++;
      else if (stored.equals(zeros)) zero++;
    }
  }
  return { matching, zero };
}

async function waitForBytesWritten(c: WornCard, bytes: number, ms = 60_000): Promise<void> {
  for (let waited = 0; waited < ms; waited += 10) {
    if ((await c.stats()).bytesWritten >= bytes) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the card saw fewer than ${bytes} bytes written within ${ms} ms`);
}

function setUp(): void {
  beforeAll(async () => {
    if (!cliBuilt()) throw new Error('build the CLI first: node scripts/build.mjs');
    work.dir = await fsp.mkdtemp(join(tmpdir(), 'sureflash-worn-engine-'));
  });
  afterEach(async ({ task }) => {
    for (const c of cards.splice(0)) {
      if (task.result?.state === 'fail') process.stderr.write(`worn card stderr (${task.name}):\n${c.stderr()}\n`);
      await c.stop();
    }
  });
  afterAll(async () => {
    if (work.dir) await fsp.rm(work.dir, { recursive: true, force: true });
  });
}

describeCardCli('engine on a worn card: retry, dead blocks, readback, verify', () => {
  setUp();

  it('rewrites exactly the corrupted blocks of transient faults (K = 1..3) and ends verified', async () => {
    const image = await makeImage('transient.img', LAYOUT);
    const faults = [{ block: 5, count: 1 }, { block: 300, count: 2 }, { block: 600, count: 3 }, { block: 1100, count: 3 }];
    const c = await card(16 * MiB, faults);
    const result = await runCli(['copy', '--bmap', image.bmap, '--checksum-retry=3', '-q', image.path, c.loop]);
    const report = expectExit(result, 0);
    expect(report.status).toBe('verified');
    expect(report.readback).toBe('direct');
    expect(report.ranges.map((r) => ({ first: r.first, last: r.last }))).toEqual(image.ranges);

    const stats = await c.stats();
    expect(stats.corruptedByBlock).toEqual({ '5': 1, '300': 2, '600': 3, '1100': 3 });
    expect(stats.corruptedWrites).toBe(9);
    expect(report.totals.rewrittenBlocks).toBe(stats.corruptedWrites);
    // Range B has two faulty blocks in one window: 3 passes, 2 + 3 block rewrites.
    expect(report.ranges.map((r) => r.retries)).toEqual([1, 3, 3, 0]);
    expect(report.ranges.map((r) => r.rewrittenBlocks)).toEqual([1, 5, 3, 0]);
    expect(report.ranges.every((r) => r.state === 'verified' && r.badBlocks === undefined)).toBe(true);
    expect(report.totals.badRanges).toBe(0);
    for (const r of image.ranges) expect(await blocksDiffering(c, image.path, r.first, r.last)).toEqual([]);
  });

  it('retries on a 4 KiB-sector direct-I/O loop, including a partial last block written by read-modify-write', async () => {
    // STANDARD_LAYOUT: 1 MiB + 1000 bytes; its last range is block 256, of which only 1000 bytes are image.
    const image = await makeImage('sector4k.img', STANDARD_LAYOUT);
    const c = await card(4 * MiB, [{ block: 49, count: 1 }, { block: 256, count: 2 }], { directIo: true, sectorSize: 4096 });
    await writeDirect(c.loop, 256 * BLOCK, Buffer.alloc(BLOCK, 0xee));
    const result = await runCli(['copy', '--bmap', image.bmap, '--checksum-retry=2', '-q', image.path, c.loop]);
    const report = expectExit(result, 0);
    expect(report.status).toBe('verified');
    expect(report.ranges.map((r) => r.rewrittenBlocks)).toEqual([0, 0, 1, 0, 1]);
    // The fill of block 256 was the tail's first corrupted write; the engine's own write and rewrite follow.
    expect((await c.stats()).corruptedByBlock).toEqual({ '49': 1, '256': 2 });
    for (const r of image.ranges.slice(0, -1)) expect(await blocksDiffering(c, image.path, r.first, r.last)).toEqual([]);
    const tail = await c.storedBytes(256 * BLOCK, BLOCK);
    expect(tail.subarray(0, 1000).equals(await readImage(image.path, 256 * BLOCK, 1000))).toBe(true);
    // Past the image's end the card keeps what it had (the fixture flips at fixed offsets, both below 1000 here).
    expect(tail.subarray(1000).every((b) => b === 0xee)).toBe(true);
  });

  it('gives up on a dead block after the retries, naming its range', async () => {
    const image = await makeImage('dead.img', LAYOUT);
    const c = await card(16 * MiB, [{ block: 400, count: -1 }]);
    const result = await runCli(['copy', '--bmap', image.bmap, '--checksum-retry=3', '-q', image.path, c.loop]);
    const report = expectExit(result, 1);
    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('READBACK_MISMATCH');
    const bad = rangeHolding(report, 400);
    expect(bad).toMatchObject({ index: 1, state: 'failed', retries: 3, rewrittenBlocks: 3, badBlocks: [{ first: 400, last: 400 }] });
    expect(report.ranges.filter((r) => r.index !== 1).every((r) => r.state === 'verified')).toBe(true);
    expect(report.totals.badRanges).toBe(1);
    expect(result.stderr).toMatch(/retries exhausted/);
    expect(result.stderr).toMatch(/range 2\b/);
    expect((await c.stats()).corruptedByBlock).toEqual({ '400': 4 });
  });

  it('with retry off, reports exactly which ranges and blocks did not hold', async () => {
    const image = await makeImage('noretry.img', LAYOUT);
    const c = await card(16 * MiB, [{ block: 5, count: 1 }, { block: 1100, count: 1 }, { block: 1101, count: 1 }]);
    const result = await runCli(['copy', '--bmap', image.bmap, '-q', image.path, c.loop]);
    const report = expectExit(result, 1);
    expect(report.status).toBe('failed');
    expect(report.options.retries).toBe(0);
    expect(report.totals.badRanges).toBe(2);
    expect(report.totals.retries).toBe(0);
    expect(report.ranges.map((r) => r.state)).toEqual(['failed', 'verified', 'failed', 'verified']);
    expect(report.ranges[0]?.badBlocks).toEqual([{ first: 5, last: 5 }]);
    expect(report.ranges[2]?.badBlocks).toEqual([{ first: 1100, last: 1101 }]);
    expect(report.error?.code).toBe('READBACK_MISMATCH');
    expect(result.stderr).toMatch(/ranges 1, 3/);
    expect(result.stderr).toMatch(/retry is off/);
  });

  it('verify reads the device, not a page cache that still holds what was written', async () => {
    const image = await makeImage('cached.img', LAYOUT);
    const c = await card(16 * MiB, [{ block: 5, count: 1 }, { block: 1100, count: 1 }]);
    // Buffered writes through an fd kept open: the block device's page cache keeps the good bytes.
    const held = await fsp.open(c.loop, 'r+');
    try {
      for (const r of image.ranges) {
        const data = await readImage(image.path, r.first * BLOCK, (r.last - r.first + 1) * BLOCK);
        await held.write(data, 0, data.length, r.first * BLOCK);
      }
      await held.sync();
      expect((await c.stats()).corruptedByBlock).toEqual({ '5': 1, '1100': 1 });
      expect(await blocksDiffering(c, image.path, 0, 1816)).toEqual([5, 1100]);
      // The premise: a buffered read (another fd, same cache) sees the image, so a buffered readback would pass.
      const other = await fsp.open(c.loop, 'r');
      try {
        for (const block of [5, 1100]) {
          const cached = Buffer.alloc(BLOCK);
          await other.read(cached, 0, BLOCK, block * BLOCK);
          expect(cached.equals(await readImage(image.path, block * BLOCK, BLOCK))).toBe(true);
        }
      } finally {
        await other.close();
      }

      const byChecksum = await runCli(['verify', '--bmap', image.bmap, '-q', image.path, c.loop]);
      const report = expectExit(byChecksum, 1);
      expect(report.status).toBe('failed');
      expect(report.ranges.map((r) => r.state)).toEqual(['failed', 'verified', 'failed', 'verified']);
      expect(byChecksum.stderr).toMatch(/ranges 1, 3/);

      const byImage = await runCli(['verify', '--nobmap', '-q', image.path, c.loop]);
      const plain = expectExit(byImage, 1);
      expect(plain.status).toBe('failed');
      expect(sortedBadBlocks(plain)).toEqual([{ first: 5, last: 5 }, { first: 1100, last: 1100 }]);
    } finally {
      await held.close();
    }
  });

  it('verify passes a good card (bmap checksums, and --nobmap against the image) and fails it after a block dies', async () => {
    const image = await makeImage('verify.img', LAYOUT);
    const c = await card(16 * MiB);
    expectExit(await runCli(['copy', '--bmap', image.bmap, '-q', image.path, c.loop]), 0);

    const good = expectExit(await runCli(['verify', '--bmap', image.bmap, '-q', image.path, c.loop]), 0);
    expect(good.status).toBe('verified');
    expect(good.bmap?.checksumType).toBe('sha256');
    expect(good.totals.bytesReadBack).toBe(good.totals.mappedBytes);
    const goodPlain = expectExit(await runCli(['verify', '--nobmap', '-q', image.path, c.loop]), 0);
    expect(goodPlain.status).toBe('verified');
    expect(goodPlain.bmap).toBeNull();
    expect(goodPlain.totals.bytesReadBack).toBe(LAYOUT.size);

    // Block 300 dies: rewriting it (as a flash would) leaves it wrong on the card.
    await c.setFaults([{ block: 300, count: -1 }]);
    await writeDirect(c.loop, 300 * BLOCK, await readImage(image.path, 300 * BLOCK, BLOCK));
    expect(await blocksDiffering(c, image.path, 256, 639)).toEqual([300]);

    const dead = await runCli(['verify', '--bmap', image.bmap, '-q', image.path, c.loop]);
    const report = expectExit(dead, 1);
    expect(report.status).toBe('failed');
    expect(rangeHolding(report, 300)).toMatchObject({ index: 1, state: 'failed' });
    expect(report.ranges.filter((r) => r.state === 'failed')).toHaveLength(1);
    expect(dead.stderr).toMatch(/range 2\b/);

    const deadPlain = await runCli(['verify', '--nobmap', '-q', image.path, c.loop]);
    const plain = expectExit(deadPlain, 1);
    expect(sortedBadBlocks(plain)).toEqual([{ first: 300, last: 300 }]);
    expect(deadPlain.stderr).toMatch(/\bblocks? 300\b.*\brange 1\b/);
  });
});

describeCardCli('engine on a worn card: the card vanishes, Ctrl-C, memory', () => {
  setUp();
  // Small chunks in a small pool keep the copy slow enough to act in the middle.
  const throttle = { SUREFLASH_CHUNK_KIB: '256', SUREFLASH_CHUNKS: '4' };

  it('stops with DEVICE_LOST when the card vanishes mid-write, and exits', async () => {
    const image = await makeRandomImage('vanish.img', 256 * MiB, 0, 256 * MiB);
    const c = await card(512 * MiB);
    const running = runCli(['copy', '--bmap', image.bmap, '-q', image.path, c.loop], { env: throttle });
    await waitForBytesWritten(c, 4 * MiB).catch(async (error: unknown) => {
      await c.kill();
      await running;
      throw error;
    });
    await c.kill();
    const result = await running;
    const report = expectExit(result, 1);
    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('DEVICE_LOST');
    expect(result.stderr).toMatch(/device lost/i);
    expect(result.stderr).toContain(basename(c.loop));
    expect(report.totals.bytesWritten).toBeLessThan(256 * MiB);
  }, 180_000);

  it('Ctrl-C during a write: exit 1, report cancelled, what was written is on the card', async () => {
    const image = await makeRandomImage('cancel.img', 256 * MiB, 0, 256 * MiB);
    const c = await card(512 * MiB);
    const running = runCli(['copy', '--bmap', image.bmap, image.path, c.loop], {
      env: throttle,
      onSpawn: (child) => {
        void waitForBytesWritten(c, 4 * MiB).then(() => child.kill('SIGINT'), () => child.kill('SIGINT'));
      },
    });
    const result = await running;
    const report = expectExit(result, 1);
    expect(report.status).toBe('cancelled');
    expect(report.error?.code).toBe('CANCELLED');
    expect(result.stderr).toMatch(/^Cancelled: /m);
    const written = report.totals.bytesWritten;
    expect(written).toBeGreaterThanOrEqual(4 * MiB);
    expect(written).toBeLessThan(256 * MiB);
    // Every byte the engine wrote reached the card (no fault here), and nothing is left in flight.
    const inflight = readFileSync(`/sys/block/${basename(c.loop)}/inflight`, 'utf8').trim().split(/\s+/);
    expect(inflight).toEqual(['0', '0']);
    // The card also got the capacity probe's markers (past the image's end).
    expect((await c.stats()).bytesWritten).toBe(written + (report.probe?.markers ?? 0) * 4096);
    // The blocks the card holds are the image's: as many as were written; the rest were never touched (zero).
    const { matching, zero } = await compareBlocks(c, image.path, 0, 256 * MiB);
    expect(matching * BLOCK).toBe(written);
    expect(matching + zero).toBe((256 * MiB) / BLOCK);
  }, 180_000);

  it('completes with the smallest chunk pool (SUREFLASH_CHUNKS=4, 256 KiB chunks), retry included', async () => {
    const image = await makeImage('one-window.img', LAYOUT);
    const c = await card(16 * MiB, [{ block: 300, count: 1 }]);
    const result = await runCli(['copy', '--bmap', image.bmap, '--checksum-retry=1', '-q', image.path, c.loop], {
      env: { SUREFLASH_CHUNK_KIB: '256', SUREFLASH_CHUNKS: '1' },
      timeoutMs: 30_000,
    });
    const report = expectExit(result, 0);
    expect(report.status).toBe('verified');
    expect(report.totals.rewrittenBlocks).toBe(1);
    for (const r of image.ranges) expect(await blocksDiffering(c, image.path, r.first, r.last)).toEqual([]);
  }, 120_000);

  it.skipIf(!canMeasureRss())('keeps peak RSS under 150 MB on a 1 GiB range with retries (needs /usr/bin/time)', async () => {
    const image = await makeRandomImage('large.img', 1024 * MiB + 8 * MiB, 4 * MiB, 1024 * MiB);
    const faults = [{ block: 1024 + 10, count: 1 }, { block: 1024 + 100_000, count: 2 }, { block: 1024 + 262_000, count: 1 }];
    const c = await card(1280 * MiB, faults);
    const result = await runCli(['copy', '--bmap', image.bmap, '--checksum-retry=3', '-q', image.path, c.loop], {
      measureRss: true,
      timeoutMs: 280_000,
    });
    const report = expectExit(result, 0);
    expect(report.status).toBe('verified');
    expect(report.ranges).toHaveLength(1);
    // Three blocks needed a rewrite, one of them twice: the range's worst block needed 2 passes.
    expect(report.ranges[0]).toMatchObject({ bytes: 1024 * MiB, retries: 2, rewrittenBlocks: 4, retriedBlocks: 3 });
    expect((await c.stats()).corruptedWrites).toBe(4);
    process.stderr.write(`[measure] peak RSS of sureflash copy, 1 GiB range with retries: ${result.peakRssKiB} KiB\n`);
    expect((result.peakRssKiB ?? Infinity) * 1024).toBeLessThan(150_000_000);
    for (const block of faults.map((f) => f.block)) expect(await blocksDiffering(c, image.path, block - 1, block + 1)).toEqual([]);
  }, 300_000);
});
