/**
 * Issue 10 §2: bmaps with a BlockSize other than 4096 (512, 1024, 2048: valid, and what bmaptool writes for an
 * image kept on a filesystem with such blocks) are written right to 512-byte, 2 KiB and 4 KiB-sector loop
 * devices (`losetup --sector-size`, direct I/O) and a regular file, through the built CLI.
 * The ranges are laid out so that several of them share one 4 KiB sector with unmapped bytes between them,
 * a big range is cut into chunks at offsets that are not sector-aligned, and the image ends in a partial
 * block: all of it is read-modify-write on a 4 KiB device. The device is pre-filled with 0xFF, so a
 * read-modify-write that loses its neighbours' bytes shows. bmaptool copies the same bmap to a file as the
 * oracle. A bmap is never refused for its block size alone: every block size bmaptool accepts can be
 * written to every sector size the engine aligns to (up to 4 KiB), by read-modify-write of partial sectors.
 *
 * Build first: `node scripts/build.mjs`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { blockRangesOf, bmaptoolAvailable, bmaptoolCopy, bmaptoolCreate, makeSparseImage, STANDARD_LAYOUT, writeBmap } from '../helpers/bmap-fixtures';
import { cliBuilt, describeRun, runCli } from '../helpers/cli';
import { attachLoop, readDirect, run, writeDirect } from '../helpers/loop';
import { cardsPerTest } from '../helpers/card-checks';
import { describeCardCli, rangeHolding } from '../helpers/card-cli-checks';
import { describeRoot } from '../helpers/root';

const KiB = 1024;
const MiB = 1024 * KiB;
const IMAGE_SIZE = 3 * MiB + 700;
const DEVICE_SIZE = 8 * MiB;

/** Mapped byte spans: two in one 4 KiB sector with a gap, a big one cut at unaligned chunk ends, the partial tail. */
const SPANS = [
  { start: 512, end: 1536 },
  { start: 2560, end: 3072 },
  { start: 5120, end: 5120 + 2 * MiB + 512 * KiB + 1024 },
  { start: 3 * MiB - 3072, end: 3 * MiB - 1024 },
  { start: 3 * MiB + 512, end: IMAGE_SIZE },
];

let dir = '';
let image = '';
const bmaps = new Map<number, { path: string; mapped: Uint8Array; ranges: { first: number; last: number }[] }>();

beforeAll(async () => {
  if (!cliBuilt()) throw new Error('build the CLI first: node scripts/build.mjs');
  dir = mkdtempSync(join(tmpdir(), 'sureflash-bs-'));
  // Data everywhere, mapped or not: a target that gets unmapped bytes written would differ from 0xFF.
  image = await makeSparseImage(dir, 'small-blocks.img', { size: IMAGE_SIZE, extents: [{ offset: 0, length: IMAGE_SIZE, seed: 77 }] });
  for (const bs of [512, 1024, 2048]) {
    const ranges = blockRangesOf(SPANS, bs);
    const path = join(dir, `bs${bs}.bmap`);
    await writeBmap(image, path, bs, ranges);
    const mapped = new Uint8Array(IMAGE_SIZE);
    for (const r of ranges) mapped.fill(1, r.first * bs, Math.min((r.last + 1) * bs, IMAGE_SIZE));
    bmaps.set(bs, { path, mapped, ranges });
  }
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Throws naming the first byte that is wrong: mapped bytes must be the image's, the others `unmapped` (or anything when null). */
function checkBytes(got: Buffer, source: Buffer, mapped: Uint8Array, unmapped: number | null): void {
  for (let i = 0; i < IMAGE_SIZE; i++) {
    if (mapped[i]) {
      if (got[i] !== source[i]) throw new Error(`byte ${i} (mapped): ${got[i]}, expected ${source[i]}`);
    } else if (unmapped !== null && got[i] !== unmapped) throw new Error(`byte ${i} (unmapped): ${got[i]}, expected ${unmapped}`);
  }
}

describeRoot('bmap block sizes 512, 1024, 2048 on 512-byte and 4 KiB sectors and on files', () => {
  for (const bs of [512, 1024, 2048]) {
    for (const sectorSize of [512, 2048, 4096]) {
      it(`BlockSize ${bs} onto a loop device with ${sectorSize}-byte sectors: Verified, mapped bytes exact, neighbours kept`, async () => {
        const bmap = bmaps.get(bs)!;
        const backing = join(dir, `dev-${bs}-${sectorSize}.bin`);
        writeFileSync(backing, Buffer.alloc(DEVICE_SIZE, 0xff));
        const loop = await attachLoop(backing, { sectorSize, directIo: sectorSize > 512 });
        try {
          expect(readFileSync(`/sys/block/${loop.device.slice(5)}/queue/logical_block_size`, 'utf8').trim()).toBe(String(sectorSize));
          const result = await runCli(['copy', '--bmap', bmap.path, '--checksum-retry=2', image, loop.device]);
          expect(result.code, describeRun(result)).toBe(0);
          const report = result.report!;
          expect(report.status).toBe('verified');
          expect(report.blockSize).toBe(bs);
          expect(report.target.sectorSize).toBe(sectorSize);
          expect(report.ranges.map((r) => ({ first: r.first, last: r.last }))).toEqual(bmap.ranges);
          expect(report.totals.retries).toBe(0);
          checkBytes(await readDirect(loop.device, 0, 4 * MiB), readFileSync(image), bmap.mapped, 0xff);
          const verify = await runCli(['verify', '--bmap', bmap.path, image, loop.device]);
          expect(verify.code, describeRun(verify)).toBe(0);
          expect(verify.report?.status).toBe('verified');
        } finally {
          await loop.detach();
        }
      }, 60_000);
    }

    it(`BlockSize ${bs} onto a regular file: Verified, and the file equals bmaptool's copy of the same bmap`, async () => {
      const bmap = bmaps.get(bs)!;
      const target = join(dir, `out-${bs}.img`);
      writeFileSync(target, Buffer.alloc(DEVICE_SIZE, 0xab));
      const result = await runCli(['copy', '--bmap', bmap.path, image, target]);
      expect(result.code, describeRun(result)).toBe(0);
      expect(result.report?.status).toBe('verified');
      expect(result.report?.blockSize).toBe(bs);
      const ours = readFileSync(target);
      expect(ours.length).toBe(IMAGE_SIZE);
      checkBytes(ours, readFileSync(image), bmap.mapped, 0);
      if (bmaptoolAvailable()) {
        const oracle = join(dir, `oracle-${bs}.img`);
        await bmaptoolCopy(image, bmap.path, oracle);
        expect(ours.equals(readFileSync(oracle))).toBe(true);
      }
    }, 60_000);
  }
});

describeRoot('a bmap made by bmaptool on a filesystem with 1 KiB blocks', () => {
  it.skipIf(!bmaptoolAvailable())('bmaptool create writes BlockSize 1024 for an image kept on ext4 -b 1024; it goes onto a 4 KiB-sector device, Verified (needs bmaptool)', async () => {
    const fs = join(dir, 'fs1k.img');
    writeFileSync(fs, '');
    execFileSync('truncate', ['-s', String(32 * MiB), fs]);
    execFileSync('mkfs.ext4', ['-q', '-F', '-b', '1024', fs]);
    const fsLoop = await attachLoop(fs);
    const mnt = join(dir, 'mnt1k');
    mkdirSync(mnt);
    const mounted = await run('mount', [fsLoop.device, mnt]);
    expect(mounted.code, mounted.stderr).toBe(0);
    const backing = join(dir, 'dev-1k.bin');
    writeFileSync(backing, Buffer.alloc(DEVICE_SIZE, 0xff));
    const target = await attachLoop(backing, { sectorSize: 4096, directIo: true });
    try {
      const img = await makeSparseImage(mnt, 'os.img', STANDARD_LAYOUT);
      const xml = await bmaptoolCreate(img, `${img}.bmap`);
      expect(xml).toMatch(/<BlockSize>\s*1024\s*<\/BlockSize>/);
      const result = await runCli(['copy', '--bmap', `${img}.bmap`, img, target.device]);
      expect(result.code, describeRun(result)).toBe(0);
      const report = result.report!;
      expect(report.status).toBe('verified');
      expect(report.blockSize).toBe(1024);
      const mapped = new Uint8Array(STANDARD_LAYOUT.size);
      for (const r of report.ranges) mapped.fill(1, r.first * 1024, Math.min((r.last + 1) * 1024, STANDARD_LAYOUT.size));
      const got = await readDirect(target.device, 0, 2 * MiB);
      const source = readFileSync(img);
      for (let i = 0; i < STANDARD_LAYOUT.size; i++) {
        const want = mapped[i] ? source[i] : 0xff;
        if (got[i] !== want) throw new Error(`byte ${i}: ${got[i]}, expected ${want} (${mapped[i] ? 'mapped' : 'unmapped'})`);
      }
    } finally {
      await target.detach();
      await run('umount', [mnt]);
      await fsLoop.detach();
    }
  }, 60_000);
});

describeCardCli('bmap block sizes below the sector size, with rewrites (card fixture, 4 KiB sectors)', () => {
  const startCard = cardsPerTest();
  /** Card blocks stored damaged once, and where the card flips its byte (card.py: reproducible). */
  const FAULTS = [
    { block: 100, offset: 100 * 4096 + 2353 },
    { block: 767, offset: 767 * 4096 + 2396 },
  ];

  for (const bs of [512, 1024, 2048]) {
    it(`BlockSize ${bs}: damaged stores are rewritten by read-modify-write of their 4 KiB sectors; Verified, neighbours kept`, async () => {
      const bmap = bmaps.get(bs)!;
      const card = await startCard({ size: DEVICE_SIZE, loop: { sectorSize: 4096, directIo: true } });
      await writeDirect(card.loop, 0, Buffer.alloc(4 * MiB, 0xff));
      await card.setFaults(FAULTS.map((f) => ({ block: f.block, count: 1 })));
      const result = await runCli(['copy', '--bmap', bmap.path, '--checksum-retry=2', '-q', image, card.loop]);
      expect(result.code, describeRun(result)).toBe(0);
      const report = result.report!;
      expect(report.status).toBe('verified');
      expect(report.target.sectorSize).toBe(4096);
      expect((await card.stats()).corruptedByBlock).toEqual({ '100': 1, '767': 1 });
      for (const f of FAULTS) {
        const range = rangeHolding(report, Math.floor(f.offset / bs));
        expect(range.retries, `range holding byte ${f.offset}`).toBeGreaterThanOrEqual(1);
      }
      checkBytes(await card.storedBytes(0, 4 * MiB), readFileSync(image), bmap.mapped, 0xff);
    }, 120_000);
  }
});
