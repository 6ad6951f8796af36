/**
 * One image to several cards at once through the real CLI (`sureflash copy IMAGE DEST DEST …`), each card a
 * FUSE card fixture behind a loop device, and `--skip-identical` (only what differs is written). Every card
 * must be proven on its own: a card with a dead block fails with the block named while the others end
 * Verified and byte-exact on their media; a card removed mid-flash ends DEVICE_LOST in its own report; a
 * card with a lying write cache is retried exactly as it is alone. Build first: `node scripts/build.mjs`.
 */
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BatchReport, FlashReport } from '../../src/shared/report';
import { bmaptoolCreate, expectedRanges, fourRangeLayout, makeSparseImage, type SparseLayout, makeRandomSparseImage } from '../helpers/bmap-fixtures';
import type { Card, CardOptions, CardStats } from '../helpers/card';
import { cardsPerTest } from '../helpers/card-checks';
import { blocksDiffering, describeCardCli, rangeHolding, sortedBadBlocks } from '../helpers/card-cli-checks';
import { cliBuilt, describeRun, runCli, type CliResult } from '../helpers/cli';
import { writeDirect } from '../helpers/loop';

const BLOCK = 4096;
const KiB = 1024;
const MiB = 1024 * KiB;

/** Four ranges; blocks: A 0-63, B 256-639, C 1027-1176, D 1792-1816. */
const LAYOUT = fourRangeLayout(41);
const MAPPED_BLOCKS = 64 + 384 + 150 + 25;

/** 20 MiB mapped over 32 MiB: more than the lying card's 8 MiB cache, so blocks are evicted mid-copy. */
const CACHED_LAYOUT: SparseLayout = {
  size: 32 * MiB,
  extents: [
    { offset: 0, length: 2 * MiB, seed: 51 },
    { offset: 4 * MiB, length: 6 * MiB, seed: 52 },
    { offset: 12 * MiB, length: 6 * MiB, seed: 53 },
    { offset: 24 * MiB, length: 6 * MiB, seed: 54 },
  ],
};

interface Image {
  path: string;
  bmap: string;
  ranges: { first: number; last: number }[];
}

const work = { dir: '' };

async function makeImage(name: string, layout: SparseLayout): Promise<Image> {
  const path = await makeSparseImage(work.dir, name, layout);
  const bmap = `${path}.bmap`;
  await bmaptoolCreate(path, bmap);
  return { path, bmap, ranges: expectedRanges(layout, BLOCK) };
}

/** An image of `mapped` random bytes in one range at the start of `size` bytes. */
async function makeRandomImage(name: string, size: number, mapped: number): Promise<Image> {
  const image = await makeRandomSparseImage(work.dir, name, size, 0, mapped);
  return { ...image, ranges: [{ first: 0, last: mapped / BLOCK - 1 }] };
}

/** The batch of a run that exited with `code` (not hung), with one report per card in DEST order. */
function expectBatch(result: CliResult, code: number, cards: Card[]): BatchReport {
  expect(result.hung, describeRun(result)).toBe(false);
  expect(result.code, describeRun(result)).toBe(code);
  const batch = result.batch as BatchReport;
  expect(batch, describeRun(result)).not.toBeNull();
  expect(batch.kind).toBe('batch');
  expect(batch.cards.map((c) => c.target.path)).toEqual(cards.map((c) => c.loop));
  return batch;
}

/** The one summary line the CLI printed for `card`. */
function cardLine(result: CliResult, card: Card): string {
  const lines = result.stderr.split('\n').filter((l) => l.startsWith(`${card.loop}: `) && /: (Verified|Failed|Cancelled|Written)/.test(l));
  expect(lines, result.stderr).toHaveLength(1);
  return lines[0] as string;
}

async function expectMediaHolds(card: Card, image: Image): Promise<void> {
  for (const r of image.ranges) expect(await blocksDiffering(card, image.path, r.first, r.last), `${card.loop} range ${r.first}-${r.last}`).toEqual([]);
}

const delta = (before: CardStats, after: CardStats): { writes: number; bytesWritten: number } =>
  ({ writes: after.writes - before.writes, bytesWritten: after.bytesWritten - before.bytesWritten });

function setUp(): { card: (options: CardOptions) => Promise<Card> } {
  const card = cardsPerTest();
  beforeAll(async () => {
    if (!cliBuilt()) throw new Error('build the CLI first: node scripts/build.mjs');
    work.dir = await fsp.mkdtemp(join(tmpdir(), 'sureflash-many-cards-'));
  });
  afterAll(async () => {
    if (work.dir) await fsp.rm(work.dir, { recursive: true, force: true });
  });
  return { card };
}

describeCardCli('many cards at once: each card proven on its own', () => {
  const { card } = setUp();

  it('3 cards, one with a dead block: that card Failed with the block named, the others Verified and byte-exact; exit 1', async () => {
    const image = await makeImage('batch.img', LAYOUT);
    const cards = [await card({ size: 16 * MiB }), await card({ size: 16 * MiB, faults: [{ block: 300, count: -1 }] }), await card({ size: 16 * MiB })];
    const [good1, worn, good2] = cards as [Card, Card, Card];
    const result = await runCli(['copy', '--bmap', image.bmap, '--checksum-retry=2', image.path, ...cards.map((c) => c.loop)]);
    const batch = expectBatch(result, 1, cards);
    expect(batch.status).toBe('failed');
    expect(batch.summary).toEqual({ cards: 3, verified: 2, failed: 1, cancelled: 0, writtenUnverified: 0 });
    expect(batch.image.path).toContain('batch.img');
    expect(batch.bmap?.path).toContain('batch.img.bmap');
    expect(Date.parse(batch.startedAt)).not.toBeNaN();

    const [r1, rw, r2] = batch.cards as [FlashReport, FlashReport, FlashReport];
    // The worn card: Failed, block 300 named, its range failed after the retries; the rest of it holds.
    expect(rw.status).toBe('failed');
    expect(rw.error?.code).toBe('READBACK_MISMATCH');
    expect(rw.error?.message).toMatch(/\bblock 300\b/);
    expect(sortedBadBlocks(rw)).toEqual([{ first: 300, last: 300 }]);
    expect(rangeHolding(rw, 300)).toMatchObject({ state: 'failed', retries: 2 });
    expect(await blocksDiffering(worn, image.path, 256, 639)).toEqual([300]);
    for (const r of image.ranges.filter((x) => x.first !== 256)) expect(await blocksDiffering(worn, image.path, r.first, r.last)).toEqual([]);
    // The two others: Verified, no rewrite, and their media hold the image.
    for (const [report, c] of [[r1, good1], [r2, good2]] as const) {
      expect(report.status, c.loop).toBe('verified');
      expect(report.error ?? null).toBeNull();
      expect(report.totals).toMatchObject({ rewrittenBlocks: 0, badRanges: 0, bytesWritten: MAPPED_BLOCKS * BLOCK });
      await expectMediaHolds(c, image);
    }

    // Each card's identity, from sysfs (a loop device: its bus and its own devpath as the slot).
    for (const [i, report] of batch.cards.entries()) {
      expect(report.target.identity).toMatchObject({ bus: 'loop', slot: expect.stringContaining(cards[i]!.loop.replace('/dev/', '/')) });
    }
    // One summary line per card: device, verdict, rewrites, bad blocks, speed; and a progress line per card.
    expect(cardLine(result, good1)).toMatch(/^\/dev\/loop\d+: Verified; no retries, 0 bad blocks, [\d.]+ [kMG]?B\/s$/);
    expect(cardLine(result, good2)).toMatch(/: Verified; no retries, 0 bad blocks, /);
    expect(cardLine(result, worn)).toMatch(/: Failed; 2 retries \(1 block rewritten\), 1 bad block, [\d.]+ [kMG]?B\/s; holds a partial image: do not use it — block 300 of \/dev\/loop\d+ did not hold/);
    expect(result.stderr).toMatch(/^2 of 3 cards verified, 1 failed$/m);
    for (const c of cards) expect(result.stderr).toContain(`${c.loop}: writing + reading back: `);
  }, 180_000);

  it('a DEST that fails its pre-checks (no such device) gets its own report; the card beside it is flashed', async () => {
    const image = await makeImage('precheck.img', LAYOUT);
    const c = await card({ size: 16 * MiB });
    const result = await runCli(['copy', '--bmap', image.bmap, '-q', image.path, c.loop, '/dev/sdzz9']);
    expect(result.code, describeRun(result)).toBe(1);
    const batch = result.batch as BatchReport;
    expect(batch.cards.map((r) => [r.target.path, r.status, r.error?.code])).toEqual([[c.loop, 'verified', undefined], ['/dev/sdzz9', 'failed', 'TARGET_NOT_FOUND']]);
    await expectMediaHolds(c, image);
    expect(result.stderr).toMatch(/^\/dev\/sdzz9: Failed; .* — device \/dev\/sdzz9 does not exist/m);
  }, 180_000);

  it('a card removed mid-flash ends DEVICE_LOST in its own report; the others go on and end Verified', async () => {
    // 24 MiB on a 20 MB/s bus: over a second of writing, time to pull the card.
    const image = await makeRandomImage('removed.img', 32 * MiB, 24 * MiB);
    const bus = { writeMBps: 20, readMBps: 80 };
    const cards = [await card({ size: 64 * MiB, bus }), await card({ size: 64 * MiB, bus }), await card({ size: 64 * MiB, bus })];
    const [good1, pulled, good2] = cards as [Card, Card, Card];
    const running = runCli(['copy', '--bmap', image.bmap, '-q', image.path, ...cards.map((c) => c.loop)]);
    await pulled.waitFor((s) => s.bytesWritten >= 4 * MiB, 'the card to take 4 MiB', 60_000).catch(async (error: unknown) => {
      await pulled.kill();
      await running;
      throw error;
    });
    await pulled.kill();
    const result = await running;
    const batch = expectBatch(result, 1, cards);
    const [r1, rp, r2] = batch.cards as [FlashReport, FlashReport, FlashReport];
    expect(rp.status).toBe('failed');
    expect(rp.error?.code).toBe('DEVICE_LOST');
    expect(rp.totals.bytesWritten).toBeLessThan(24 * MiB);
    expect(rp.unsafeToUse).toBe(true);
    expect(cardLine(result, pulled)).toMatch(/: Failed; .*holds a partial image: do not use it/);
    for (const [report, c] of [[r1, good1], [r2, good2]] as const) {
      expect(report.status, `${c.loop}: ${report.error?.message ?? ''}`).toBe('verified');
      await expectMediaHolds(c, image);
    }
    expect(batch.summary).toMatchObject({ cards: 3, verified: 2, failed: 1 });
  }, 180_000);

  it('a card that stalls mid-flash drops out as DEVICE_STALLED after --io-timeout; the others finish while it hangs', async () => {
    const image = await makeRandomImage('stalled.img', 32 * MiB, 24 * MiB);
    const bus = { writeMBps: 20, readMBps: 80 };
    const cards = [await card({ size: 64 * MiB, bus }), await card({ size: 64 * MiB, bus }), await card({ size: 64 * MiB, bus })];
    const [good1, stuck, good2] = cards as [Card, Card, Card];
    let summaryPrinted: () => void = () => undefined;
    const printed = new Promise<void>((resolve) => { summaryPrinted = resolve; });
    const running = runCli(['copy', '--bmap', image.bmap, '--io-timeout', '3', '-q', image.path, ...cards.map((c) => c.loop)], {
      onSpawn: (child) => {
        let err = '';
        child.stderr?.on('data', (chunk: Buffer) => {
          err += chunk.toString();
          if (/cards verified/.test(err)) summaryPrinted();
        });
      },
    });
    await stuck.waitFor((s) => s.bytesWritten >= 4 * MiB, 'the card to take 4 MiB', 60_000);
    await stuck.stall();
    // The verdicts come while the card still hangs; only then is it let go, so the process can end.
    await Promise.race([printed, running]);
    expect((await stuck.stats()).stalled).toBe(true);
    await stuck.resume();
    const result = await running;
    const batch = expectBatch(result, 1, cards);
    const [r1, rs, r2] = batch.cards as [FlashReport, FlashReport, FlashReport];
    expect(rs.status).toBe('failed');
    expect(rs.error?.code).toBe('DEVICE_STALLED');
    for (const [report, c] of [[r1, good1], [r2, good2]] as const) {
      expect(report.status, `${c.loop}: ${report.error?.message ?? ''}`).toBe('verified');
      await expectMediaHolds(c, image);
    }
  }, 180_000);

  it('a card that hangs before the flash starts: not identified within --io-timeout, then DEVICE_STALLED; the others are verified', async () => {
    const image = await makeRandomImage('stalled-first.img', 32 * MiB, 8 * MiB);
    const cards = [await card({ size: 64 * MiB }), await card({ size: 64 * MiB })];
    const [good, stuck] = cards as [Card, Card];
    await stuck.stall();
    let summaryPrinted: () => void = () => undefined;
    const printed = new Promise<void>((resolve) => { summaryPrinted = resolve; });
    let err = '';
    const running = runCli(['copy', '--bmap', image.bmap, '--io-timeout', '2', '-q', image.path, ...cards.map((c) => c.loop)], {
      onSpawn: (child) => {
        child.stderr?.on('data', (chunk: Buffer) => {
          err += chunk.toString();
          if (/cards? verified/.test(err)) summaryPrinted();
        });
      },
    });
    // The verdicts come while the card still hangs (before the fix, the fingerprint's read held the CLI forever).
    await Promise.race([printed, running]);
    expect(err).toContain(`${stuck.loop} did not answer reading its fingerprint within 2 s`);
    await stuck.resume();
    const result = await running;
    const batch = expectBatch(result, 1, cards);
    const [rg, rs] = batch.cards as [FlashReport, FlashReport];
    expect(rs.error?.code).toBe('DEVICE_STALLED');
    expect(rg.status).toBe('verified');
    await expectMediaHolds(good, image);
  }, 60_000);

  it('a lying write-cache card among healthy ones: retried exactly as alone, all Verified, every medium right', async () => {
    const image = await makeImage('cached.img', CACHED_LAYOUT);
    // Blocks 300 (evicted mid-copy) and 7000 (in the last range) reach the media damaged once.
    const damaged = [300, 7000];
    const cards = [
      await card({ size: 32 * MiB }),
      await card({ size: 32 * MiB, cacheBlocks: 2048, faults: damaged.map((block) => ({ block, count: 1 })) }),
      await card({ size: 32 * MiB }),
    ];
    const liar = cards[1] as Card;
    const result = await runCli(['copy', '--bmap', image.bmap, '--checksum-retry=3', '-q', image.path, ...cards.map((c) => c.loop)]);
    const batch = expectBatch(result, 0, cards);
    expect(batch.cards.map((c) => c.status)).toEqual(['verified', 'verified', 'verified']);
    expect((await liar.stats()).corruptedByBlock).toEqual({ '300': 1, '7000': 1 });
    const lr = batch.cards[1] as FlashReport;
    expect(lr.totals.rewrittenBlocks).toBeGreaterThanOrEqual(damaged.length);
    for (const block of damaged) expect(rangeHolding(lr, block).retries).toBeGreaterThanOrEqual(1);
    for (const i of [0, 2]) expect((batch.cards[i] as FlashReport).totals.rewrittenBlocks).toBe(0);
    for (const c of cards) await expectMediaHolds(c, image);
  }, 180_000);

  it('the same lying card with retries off fails with its damaged blocks named; the healthy ones are Verified', async () => {
    const image = await makeImage('cached-noretry.img', CACHED_LAYOUT);
    const damaged = [300, 7000];
    const cards = [await card({ size: 32 * MiB, cacheBlocks: 2048, faults: damaged.map((block) => ({ block, count: 1 })) }), await card({ size: 32 * MiB })];
    const result = await runCli(['copy', '--bmap', image.bmap, '-q', image.path, ...cards.map((c) => c.loop)]);
    const batch = expectBatch(result, 1, cards);
    const [lr, hr] = batch.cards as [FlashReport, FlashReport];
    expect(lr.status).toBe('failed');
    expect(sortedBadBlocks(lr)).toEqual(damaged.map((block) => ({ first: block, last: block })));
    for (const block of damaged) expect(await blocksDiffering(cards[0] as Card, image.path, block, block)).toEqual([block]);
    expect(hr.status).toBe('verified');
    await expectMediaHolds(cards[1] as Card, image);
  }, 180_000);

  it('`sureflash verify IMAGE DEST DEST DEST`: writes nothing, each card judged on its own', async () => {
    const image = await makeImage('verify.img', LAYOUT);
    const cards = [await card({ size: 16 * MiB }), await card({ size: 16 * MiB }), await card({ size: 16 * MiB })];
    const flashed = await runCli(['copy', '--bmap', image.bmap, '-q', image.path, ...cards.map((c) => c.loop)]);
    expectBatch(flashed, 0, cards);
    // One block of the middle card changes after the flash.
    await writeDirect((cards[1] as Card).loop, 1100 * BLOCK, Buffer.alloc(BLOCK, 0x77));
    const before = await Promise.all(cards.map((c) => c.stats()));
    const result = await runCli(['verify', '--bmap', image.bmap, '-q', image.path, ...cards.map((c) => c.loop)]);
    const batch = expectBatch(result, 1, cards);
    expect(batch.mode).toBe('verify');
    expect(batch.cards.map((c) => c.status)).toEqual(['verified', 'failed', 'verified']);
    const bad = batch.cards[1] as FlashReport;
    expect(bad.error?.code).toBe('READBACK_MISMATCH');
    expect(bad.error?.message).toMatch(/\bblock 1100\b.*does not match the image/);
    expect(sortedBadBlocks(bad)).toEqual([{ first: 1100, last: 1100 }]);
    const after = await Promise.all(cards.map((c) => c.stats()));
    cards.forEach((_, i) => expect(delta(before[i] as CardStats, after[i] as CardStats).writes).toBe(0));
    expect(result.stderr).toMatch(/^2 of 3 cards verified, 1 failed$/m);
  }, 180_000);
});

describeCardCli('--skip-identical: only what differs is written', () => {
  const { card } = setUp();

  it('a card that holds the image (from an earlier flash): Verified with zero writes; a blank card beside it is written whole', async () => {
    const image = await makeImage('same.img', LAYOUT);
    const c = await card({ size: 16 * MiB });
    const blank = await card({ size: 16 * MiB });
    expectBatch(await runCli(['copy', '--bmap', image.bmap, '-q', image.path, c.loop]), 0, [c]);
    const before = await c.stats();
    const result = await runCli(['copy', '--bmap', image.bmap, '--skip-identical', '-q', image.path, c.loop, blank.loop]);
    const [report, other] = expectBatch(result, 0, [c, blank]).cards as [FlashReport, FlashReport];
    expect(report.status).toBe('verified');
    // Not a byte: neither the image nor the capacity probe's markers (the earlier flash's are still there).
    expect(delta(before, await c.stats())).toEqual({ writes: 0, bytesWritten: 0 });
    expect(report.totals).toMatchObject({ bytesWritten: 0, writtenBlocks: 0, skippedBlocks: MAPPED_BLOCKS });
    expect(report.options.skipIdentical).toBe(true);
    expect(report.probe?.status).toBe('passed');
    await expectMediaHolds(c, image);
    // The blank card differs everywhere: every block written (and the probe's markers), Verified.
    expect(other.status).toBe('verified');
    expect(other.totals).toMatchObject({ bytesWritten: MAPPED_BLOCKS * BLOCK, writtenBlocks: MAPPED_BLOCKS, skippedBlocks: 0 });
    await expectMediaHolds(blank, image);
    expect(cardLine(result, c)).toMatch(/: Verified; no retries, 0 bad blocks, 0 blocks written, 623 already right, /);
    expect(cardLine(result, blank)).toMatch(/: Verified; no retries, 0 bad blocks, 623 blocks written, 0 already right, /);
  }, 180_000);

  it('a card that differs in a few blocks: only those are written, counted per range in the report', async () => {
    const image = await makeImage('few.img', LAYOUT);
    const c = await card({ size: 16 * MiB });
    expectBatch(await runCli(['copy', '--bmap', image.bmap, '-q', image.path, c.loop]), 0, [c]);
    for (const block of [5, 300, 301, 1100]) await writeDirect(c.loop, block * BLOCK, Buffer.alloc(BLOCK, 0x5a));
    const before = await c.stats();
    const result = await runCli(['copy', '--bmap', image.bmap, '--skip-identical', '-q', image.path, c.loop]);
    const report = expectBatch(result, 0, [c]).cards[0] as FlashReport;
    expect(report.status).toBe('verified');
    expect(delta(before, await c.stats()).bytesWritten).toBe(4 * BLOCK);
    expect(report.totals).toMatchObject({ bytesWritten: 4 * BLOCK, writtenBlocks: 4, skippedBlocks: MAPPED_BLOCKS - 4 });
    expect(report.ranges.map((r) => [r.writtenBlocks, r.skippedBlocks])).toEqual([[1, 63], [2, 382], [1, 149], [0, 25]]);
    await expectMediaHolds(c, image);
  }, 180_000);

  it('a worn card: the blocks that differ are written, a block that fails twice is rewritten until it holds', async () => {
    const image = await makeImage('worn.img', LAYOUT);
    const c = await card({ size: 16 * MiB });
    expectBatch(await runCli(['copy', '--bmap', image.bmap, '-q', image.path, c.loop]), 0, [c]);
    for (const block of [300, 1100]) await writeDirect(c.loop, block * BLOCK, Buffer.alloc(BLOCK, 0x5a));
    await c.setFaults([{ block: 300, count: 2 }]);
    const before = await c.stats();
    const result = await runCli(['copy', '--bmap', image.bmap, '--skip-identical', '--checksum-retry=3', '-q', image.path, c.loop]);
    const report = expectBatch(result, 0, [c]).cards[0] as FlashReport;
    expect(report.status).toBe('verified');
    const after = await c.stats();
    expect(after.corruptedByBlock).toEqual({ '300': 2 });
    // Two blocks written once, block 300 rewritten twice: four block stores, nothing else.
    expect(delta(before, after).bytesWritten).toBe(4 * BLOCK);
    expect(rangeHolding(report, 300)).toMatchObject({ retries: 2, rewrittenBlocks: 2, writtenBlocks: 1, state: 'verified' });
    expect(report.totals).toMatchObject({ writtenBlocks: 2, skippedBlocks: MAPPED_BLOCKS - 2 });
    await expectMediaHolds(c, image);
  }, 180_000);

  it('a worn card with a dead block among the ones that differ: Failed with that block named', async () => {
    const image = await makeImage('worn-dead.img', LAYOUT);
    const c = await card({ size: 16 * MiB });
    expectBatch(await runCli(['copy', '--bmap', image.bmap, '-q', image.path, c.loop]), 0, [c]);
    await writeDirect(c.loop, 600 * BLOCK, Buffer.alloc(BLOCK, 0x5a));
    await c.setFaults([{ block: 600, count: -1 }]);
    const result = await runCli(['copy', '--bmap', image.bmap, '--skip-identical', '--checksum-retry=2', '-q', image.path, c.loop]);
    const report = expectBatch(result, 1, [c]).cards[0] as FlashReport;
    expect(report.status).toBe('failed');
    expect(sortedBadBlocks(report)).toEqual([{ first: 600, last: 600 }]);
    expect(report.error?.message).toMatch(/\bblock 600\b/);
  }, 180_000);

  it('a counterfeit card that an earlier flash probed: the markers it left do not pass, the card is refused again', async () => {
    const image = await makeImage('fake.img', LAYOUT);
    // Claims 64 MiB, stores 16 MiB, addresses wrap: the earlier probe's markers overwrote each other.
    const c = await card({ size: 64 * MiB, realSize: 16 * MiB });
    const first = await runCli(['copy', '--bmap', image.bmap, '-q', image.path, c.loop]);
    expect((expectBatch(first, 1, [c]).cards[0] as FlashReport).error?.code).toBe('TARGET_COUNTERFEIT');
    const again = await runCli(['copy', '--bmap', image.bmap, '--skip-identical', '-q', image.path, c.loop]);
    const report = expectBatch(again, 1, [c]).cards[0] as FlashReport;
    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('TARGET_COUNTERFEIT');
    expect(report.error?.message).toMatch(/counterfeit/);
  }, 180_000);
});
