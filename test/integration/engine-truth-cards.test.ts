/**
 * What "Verified" must mean on cards that lie to a readback made right after the write: the card's media
 * holds the image. Run through the real CLI against the card fixture behind a loop device.
 *
 * - A card with a volatile write cache answers an immediate readback from its cache, while blocks reach
 *   the media damaged (on eviction, and at the final flush). With `--checksum-retry=3` the engine must end
 *   Verified with the media right; with retries off, Failed with the damaged blocks named.
 * - A counterfeit card (claims 64 MiB, stores 16 MiB, addresses wrap) holding an ext4 image with about
 *   40 MiB of files across its declared size must never end Verified: the capacity probe refuses it (the
 *   message says counterfeit), and without the probe the final pass after the last flush finds the wrap.
 *
 * Build first: `node scripts/build.mjs`.
 */
import { randomFillSync } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bmaptoolCreate, expectedRanges, makeSparseImage, type SparseLayout } from '../helpers/bmap-fixtures';
import { cardsPerTest } from '../helpers/card-checks';
import { blocksDiffering, describeCardCli, expectExit, rangeHolding, sortedBadBlocks } from '../helpers/card-cli-checks';
import { cliBuilt, describeRun, runCli } from '../helpers/cli';
import { run } from '../helpers/loop';

const KiB = 1024;
const MiB = 1024 * KiB;
const BLOCK = 4096;

/** 48 MiB mapped over 64 MiB: more than the 32 MiB cache, so early blocks are evicted while the copy runs. */
const CACHED_LAYOUT: SparseLayout = {
  size: 64 * MiB,
  extents: [
    { offset: 0, length: 4 * MiB, seed: 31 },
    { offset: 8 * MiB, length: 16 * MiB, seed: 32 },
    { offset: 28 * MiB, length: 12 * MiB, seed: 33 },
    { offset: 48 * MiB, length: 16 * MiB, seed: 34 },
  ],
};
/** Written back damaged: block 300 on eviction, mid-copy; block 16000 (the last range) at the final flush. */
const DAMAGED = [300, 16000];
const CACHE_BLOCKS = 8192;

const work = { dir: '' };

interface Image {
  path: string;
  bmap: string;
  ranges: { first: number; last: number }[];
}

async function cachedImage(): Promise<Image> {
  const path = await makeSparseImage(work.dir, 'cached.img', CACHED_LAYOUT);
  const bmap = `${path}.bmap`;
  await bmaptoolCreate(path, bmap);
  return { path, bmap, ranges: expectedRanges(CACHED_LAYOUT, BLOCK) };
}

/** A 64 MiB ext4 image (mkfs.ext4 -d, 16 MiB block groups) of ten 4 MiB random files in five folders. */
async function ext4Image(): Promise<Image> {
  const files = join(work.dir, 'files');
  for (const folder of ['boot', 'usr', 'var', 'opt', 'home']) {
    await fsp.mkdir(join(files, folder), { recursive: true });
    for (let i = 0; i < 2; i += 1) await fsp.writeFile(join(files, folder, `blob-${i}.bin`), randomFillSync(Buffer.alloc(4 * MiB)));
  }
  const path = join(work.dir, 'counterfeit.img');
  await fsp.writeFile(path, '');
  await fsp.truncate(path, 64 * MiB);
  const mkfs = await run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-g', '4096', '-d', files, path]);
  if (mkfs.code !== 0) throw new Error(`mkfs.ext4 failed: ${mkfs.stderr}`);
  const bmap = `${path}.bmap`;
  const xml = await bmaptoolCreate(path, bmap);
  const ranges = [...xml.matchAll(/<Range\s+chksum="[0-9a-f]+"\s*>\s*(\d+)(?:\s*-\s*(\d+))?\s*<\/Range>/g)]
    .map((m) => ({ first: Number(m[1]), last: Number(m[2] ?? m[1]) }));
  return { path, bmap, ranges };
}

describeCardCli('engine truth: cards that lie to an immediate readback', () => {
  const startCard = cardsPerTest();
  const images: { cached?: Image; counterfeit?: Image } = {};

  beforeAll(async () => {
    if (!cliBuilt()) throw new Error('build the CLI first: node scripts/build.mjs');
    work.dir = await fsp.mkdtemp(join(tmpdir(), 'sureflash-truth-'));
    images.cached = await cachedImage();
    images.counterfeit = await ext4Image();
    const mapped = images.counterfeit.ranges.reduce((n, r) => n + r.last - r.first + 1, 0) * BLOCK;
    // The premise: ~40 MiB mapped, much of it beyond the 16 MiB the card stores.
    expect(mapped).toBeGreaterThan(40 * MiB);
    expect(images.counterfeit.ranges.some((r) => r.last * BLOCK >= 32 * MiB)).toBe(true);
  });
  afterAll(async () => {
    if (work.dir) await fsp.rm(work.dir, { recursive: true, force: true });
  });

  const cacheCard = () => startCard({ size: 64 * MiB, cacheBlocks: CACHE_BLOCKS, faults: DAMAGED.map((block) => ({ block, count: 1 })) });

  it('write-cache card, --checksum-retry=3: Verified, and the media holds the image', async () => {
    const image = images.cached!;
    const card = await cacheCard();
    const result = await runCli(['copy', '--bmap', image.bmap, '--checksum-retry=3', '-q', image.path, card.loop]);
    const report = expectExit(result, 0);
    expect(report.status).toBe('verified');
    // Both blocks were damaged on their way to the media once ...
    expect((await card.stats()).corruptedByBlock).toEqual({ '300': 1, '16000': 1 });
    // ... and the media holds the image all the same: the engine saw the damage and rewrote them.
    for (const r of image.ranges) expect(await blocksDiffering(card, image.path, r.first, r.last), `range ${r.first}-${r.last}`).toEqual([]);
    expect(report.totals.rewrittenBlocks).toBeGreaterThanOrEqual(DAMAGED.length);
    for (const block of DAMAGED) expect(rangeHolding(report, block).retries).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it('write-cache card, retries off: Failed (exit 1), the damaged blocks named in badBlocks', async () => {
    const image = images.cached!;
    const card = await cacheCard();
    const result = await runCli(['copy', '--bmap', image.bmap, '-q', image.path, card.loop]);
    const report = expectExit(result, 1);
    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('READBACK_MISMATCH');
    expect(sortedBadBlocks(report)).toEqual(DAMAGED.map((block) => ({ first: block, last: block })));
    for (const block of DAMAGED) expect(rangeHolding(report, block).state).toBe('failed');
    // The report is right about the media.
    for (const block of DAMAGED) expect(await blocksDiffering(card, image.path, block, block)).toEqual([block]);
  }, 180_000);

  const counterfeitCard = (overflow: 'wrap' | 'drop' = 'wrap') => startCard({ size: 64 * MiB, realSize: 16 * MiB, overflow });

  it('counterfeit card (claims 64 MiB, stores 16 MiB): never Verified; the probe says counterfeit', async () => {
    const image = images.counterfeit!;
    const card = await counterfeitCard();
    const result = await runCli(['copy', '--bmap', image.bmap, '--checksum-retry=3', '-q', image.path, card.loop]);
    expect(result.report?.status, describeRun(result)).not.toBe('verified');
    const report = expectExit(result, 1);
    expect(report.status).toBe('failed');
    expect(result.stderr).toMatch(/counterfeit/i);
  }, 180_000);

  it('counterfeit card with --no-probe: never Verified; the final pass after the last flush finds the wrap', async () => {
    const image = images.counterfeit!;
    const card = await counterfeitCard();
    const result = await runCli(['copy', '--bmap', image.bmap, '--no-probe', '-q', image.path, card.loop]);
    expect(result.report?.status, describeRun(result)).not.toBe('verified');
    const report = expectExit(result, 1);
    expect(report.status).toBe('failed');
    expect(sortedBadBlocks(report).length).toBeGreaterThan(0);
  }, 180_000);

  it('counterfeit card with --no-probe and --checksum-retry=3: rewriting what wrapped must not end Verified', async () => {
    const image = images.counterfeit!;
    const card = await counterfeitCard();
    const result = await runCli(['copy', '--bmap', image.bmap, '--no-probe', '--checksum-retry=3', '-q', image.path, card.loop]);
    expect(result.report?.status, describeRun(result)).not.toBe('verified');
    expect(expectExit(result, 1).status).toBe('failed');
  }, 180_000);

  it('counterfeit card that drops writes beyond 16 MiB: never Verified (with and without the probe)', async () => {
    const image = images.counterfeit!;
    for (const probe of [[], ['--no-probe']]) {
      const card = await counterfeitCard('drop');
      const result = await runCli(['copy', '--bmap', image.bmap, ...probe, '-q', image.path, card.loop]);
      expect(result.report?.status, describeRun(result)).not.toBe('verified');
      expect(expectExit(result, 1).status).toBe('failed');
      await card.stop();
    }
  }, 180_000);
});
