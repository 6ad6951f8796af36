/**
 * The engine end to end on real files and real loop devices: bmaptool's corner cases, every compression
 * format through both decoder paths, every bmap version, checksum-less bmaps, no bmap, stdin-free options.
 * Images and bmaps come from Debian's bmaptool (the oracle).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bmaptoolCreate, deriveBmapVersion, makeSparseImage, STANDARD_LAYOUT, type SparseLayout } from '../helpers/bmap-fixtures';
import { runEngine } from '../helpers/engine-job';
import { xzLayout, type XzBlock } from '../../src/main/engine/source/xz-sparse';
import { attachLoop, readDirect } from '../helpers/loop';
import { planMarkers } from '../../src/main/engine/lane/capacity-probe';
import { describeRoot } from '../helpers/root';

const KiB = 1024;
const MiB = 1024 * KiB;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sureflash-engine-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));


/** bmaptool's corner cases (its tests/test_api_base and friends), as layouts. */
const CORNER_CASES: Record<string, SparseLayout> = {
  'one byte': { size: 1, extents: [{ offset: 0, length: 1 }] },
  '4095 bytes': { size: 4095, extents: [{ offset: 0, length: 4095 }] },
  '4096 bytes': { size: 4096, extents: [{ offset: 0, length: 4096 }] },
  '4097 bytes': { size: 4097, extents: [{ offset: 0, length: 4097 }] },
  'hole of 4K-1': { size: 64 * KiB, extents: [{ offset: 0, length: 4096 }, { offset: 4096 + 4095, length: 10 }] },
  'hole of 4K+1': { size: 64 * KiB, extents: [{ offset: 0, length: 4096 }, { offset: 8193, length: 100 }] },
  'fully mapped': { size: 256 * KiB, extents: [{ offset: 0, length: 256 * KiB }] },
  'mapped partial last block': STANDARD_LAYOUT,
  'unmapped partial last block': { size: 1 * MiB + 1000, extents: [{ offset: 8192, length: 20_000 }] },
  'random sparse': {
    size: 8 * MiB + 123,
    extents: Array.from({ length: 40 }, (_, i) => ({ offset: (i * 7919 * 29 + i * i * 4093) % (8 * MiB - 70_000), length: 1 + ((i * 104_729) % 60_000), seed: i + 7 })),
  },
};

async function imageWithBmap(name: string, layout: SparseLayout, options: { noChecksum?: boolean } = {}): Promise<{ image: string; bmap: string }> {
  const image = await makeSparseImage(dir, name, layout);
  const bmap = `${image}.bmap`;
  await bmaptoolCreate(image, bmap, options);
  return { image, bmap };
}

describe('copy to a regular file: byte-identical, holes stay holes', () => {
  for (const [name, layout] of Object.entries(CORNER_CASES)) {
    it(name, async () => {
      const { image } = await imageWithBmap(`${name.replace(/\W+/g, '-')}.img`, layout);
      const target = join(dir, `${name.replace(/\W+/g, '-')}.out`);
      writeFileSync(target, Buffer.alloc(3 * MiB, 0xab)); // stale longer content must go
      const { report } = await runEngine({ image, target });
      expect(report.status).toBe('verified');
      expect(report.bmap?.version).toBe('2.0');
      expect(readFileSync(target).equals(readFileSync(image))).toBe(true);
      expect(statSync(target).blocks * 512).toBeLessThanOrEqual(statSync(image).blocks * 512 + 8 * KiB);
      // Every mapped byte read back after a flush, and the final pass read the image's start and end again.
      expect(report.verification).toMatchObject({ afterFlush: true });
      expect(report.verification?.flushes).toBeGreaterThanOrEqual(2);
      expect(report.verification?.finalPass?.bytes).toBeGreaterThanOrEqual(Math.min(report.totals.mappedBytes, 48 * MiB));
      expect(report.totals.bytesReadBack).toBeGreaterThanOrEqual(report.totals.mappedBytes + (report.verification?.finalPass?.bytes ?? 0));
      expect(report.ranges.every((r) => r.state === 'verified')).toBe(true);
    });
  }
});

describe('compressed images, both decoder paths', () => {
  const formats: Record<string, (src: string) => string> = {
    gz: (src) => (execFileSync('gzip', ['-k', '-f', src]), `${src}.gz`),
    bz2: (src) => (execFileSync('bzip2', ['-k', '-f', src]), `${src}.bz2`),
    xz: (src) => (execFileSync('xz', ['-k', '-f', '-T2', '--block-size=1MiB', src]), `${src}.xz`),
    zst: (src) => (execFileSync('zstd', ['-q', '-k', '-f', src]), `${src}.zst`),
    zip: (src) => (execFileSync('zip', ['-q', '-j', `${src}.zip`, src]), `${src}.zip`),
  };
  for (const [ext, compress] of Object.entries(formats)) {
    for (const decoder of ['auto', 'builtin'] as const) {
      it(`${ext} (${decoder})`, async () => {
        const { image, bmap } = await imageWithBmap(`c-${ext}-${decoder}.img`, CORNER_CASES['random sparse'] as SparseLayout);
        const packed = compress(image);
        const target = join(dir, `c-${ext}-${decoder}.out`);
        const { report } = await runEngine({ image: packed, bmapPath: bmap, target, decoder });
        expect(report.error).toBeUndefined();
        expect(report.status).toBe('verified');
        expect(report.image.compression).toBe(ext === 'gz' ? 'gzip' : ext === 'bz2' ? 'bzip2' : ext === 'zst' ? 'zstd' : ext);
        expect(readFileSync(target).equals(readFileSync(image))).toBe(true);
      });
    }
  }
});

describe('multi-block .xz: only the blocks holding mapped data are decoded', () => {
  const layout: SparseLayout = {
    size: 8 * MiB,
    extents: [
      { offset: 4096, length: 900_000, seed: 21 },
      { offset: 7 * MiB + 12_345, length: 500_000, seed: 22 },
    ],
  };

  async function packed(name: string): Promise<{ image: string; bmap: string; xz: string; blocks: XzBlock[] }> {
    const { image, bmap } = await imageWithBmap(name, layout);
    execFileSync('xz', ['-k', '-f', '-T2', '--block-size=1MiB', image]);
    const xz = `${image}.xz`;
    const found = xzLayout(xz, statSync(xz).size);
    if (!found) throw new Error('expected a single-stream multi-block xz');
    return { image, bmap, xz, blocks: found.blocks };
  }

  it('skips unmapped blocks: damage inside one is never decoded, and the copy is byte-identical', async () => {
    const { image, bmap, xz, blocks } = await packed('sparse-xz.img');
    expect(blocks).toHaveLength(8);
    const unmapped = blocks[4] as XzBlock;
    const data = readFileSync(xz);
    const at = unmapped.fileOffset + Math.floor(unmapped.storedSize / 2);
    data.writeUInt8(data.readUInt8(at) ^ 0x55, at);
    writeFileSync(xz, data);
    const target = join(dir, 'sparse-xz.out');
    const { report } = await runEngine({ image: xz, bmapPath: bmap, target });
    expect(report.error).toBeUndefined();
    expect(report.status).toBe('verified');
    expect(readFileSync(target).equals(readFileSync(image))).toBe(true);
    // Without a bmap every block is wanted, so the same damage is found.
    const whole = await runEngine({ image: xz, noBmap: true, target: join(dir, 'sparse-xz-whole.out') });
    expect(whole.report.error?.code).toMatch(/SOURCE_CORRUPT|SOURCE_TRUNCATED/);
  });

  it('damage inside a block that holds mapped data is still an error', async () => {
    const { bmap, xz, blocks } = await packed('sparse-xz-bad.img');
    const mapped = blocks[0] as XzBlock;
    const data = readFileSync(xz);
    const at = mapped.fileOffset + Math.floor(mapped.storedSize / 2);
    data.writeUInt8(data.readUInt8(at) ^ 0x55, at);
    writeFileSync(xz, data);
    const { report } = await runEngine({ image: xz, bmapPath: bmap, target: join(dir, 'sparse-xz-bad.out') });
    expect(report.status).toBe('failed');
    expect(report.error?.code).toMatch(/SOURCE_CORRUPT|SOURCE_TRUNCATED|SOURCE_CHECKSUM_MISMATCH/);
  });
});

describe('bmap versions', () => {
  for (const version of ['1.2', '1.3', '1.4', '2.0'] as const) {
    it(`${version}: copy and verify`, async () => {
      const { image, bmap } = await imageWithBmap(`v${version}.img`, STANDARD_LAYOUT);
      const derived = version === '2.0' ? bmap : join(dir, `v${version}.bmap`);
      if (version !== '2.0') writeFileSync(derived, deriveBmapVersion(readFileSync(bmap, 'utf8'), version, image));
      const target = join(dir, `v${version}.out`);
      const copy = await runEngine({ image, bmapPath: derived, target });
      expect(copy.report.status).toBe('verified');
      expect(copy.report.bmap?.checksumType).toBe(version === '2.0' || version === '1.4' ? 'sha256' : 'sha1');
      expect(readFileSync(target).equals(readFileSync(image))).toBe(true);
      const verify = await runEngine({ mode: 'verify', image, bmapPath: derived, target });
      expect(verify.report.status).toBe('verified');
    });
  }

  it('a checksum-less bmap still verifies by reading back', async () => {
    const { image, bmap } = await imageWithBmap('nochk.img', STANDARD_LAYOUT, { noChecksum: true });
    const target = join(dir, 'nochk.out');
    const { report } = await runEngine({ image, bmapPath: bmap, target });
    expect(report.bmap?.checksumType).toBeNull();
    expect(report.status).toBe('verified');
    expect(report.totals.bytesReadBack).toBeGreaterThanOrEqual(report.totals.mappedBytes);
    expect(report.verification?.finalPass?.mismatchedBlocks).toBe(0);
    const verify = await runEngine({ mode: 'verify', image, bmapPath: bmap, target });
    expect(verify.report.status).toBe('verified');
  });
});

describe('without a bmap, and options', () => {
  it('--nobmap writes and reads back the whole image', async () => {
    const { image } = await imageWithBmap('whole.img', STANDARD_LAYOUT);
    const target = join(dir, 'whole.out');
    const { report, layout } = await runEngine({ image, noBmap: true, target });
    expect(report.bmap).toBeNull();
    expect(report.status).toBe('verified');
    expect(report.totals.mappedBytes).toBe(STANDARD_LAYOUT.size);
    expect(layout?.mappedBytes).toBe(STANDARD_LAYOUT.size);
    expect(readFileSync(target).equals(readFileSync(image))).toBe(true);
  });

  it('a .gz without a bmap and with no known size grows pseudo-ranges and truncates the file', async () => {
    const image = await makeSparseImage(dir, 'nosize.img', CORNER_CASES['random sparse'] as SparseLayout);
    execFileSync('gzip', ['-k', '-f', image]);
    const target = join(dir, 'nosize.out');
    writeFileSync(target, Buffer.alloc(20 * MiB, 1));
    const { report } = await runEngine({ image: `${image}.gz`, target });
    expect(report.status).toBe('verified');
    expect(report.image.imageSize).toBeNull();
    expect(report.totals.mappedBytes).toBe(statSync(image).size);
    expect(readFileSync(target).equals(readFileSync(image))).toBe(true);
  });

  it('a job that fails before writing leaves a file target as it was', async () => {
    const { image, bmap } = await imageWithBmap('cut.img', STANDARD_LAYOUT);
    execFileSync('xz', ['-k', '-f', image]);
    const packed = readFileSync(`${image}.xz`);
    writeFileSync(`${image}.xz`, packed.subarray(0, Math.floor(packed.length / 2)));
    const target = join(dir, 'cut.out');
    const before = Buffer.alloc(2 * MiB, 0xab);
    writeFileSync(target, before);
    const { report } = await runEngine({ image: `${image}.xz`, bmapPath: bmap, target });
    expect(report.error?.code).toBe('SOURCE_TRUNCATED');
    expect(report.totals.bytesWritten).toBe(0);
    expect(readFileSync(target).equals(before)).toBe(true);
  });

  it('--no-readback reports written-unverified and reads nothing back', async () => {
    const { image } = await imageWithBmap('noread.img', STANDARD_LAYOUT);
    const target = join(dir, 'noread.out');
    const { report } = await runEngine({ image, target, readback: false });
    expect(report.status).toBe('written-unverified');
    expect(report.readback).toBe('none');
    expect(report.totals.bytesReadBack).toBe(0);
    expect(report.ranges.every((r) => r.state === 'written')).toBe(true);
  });

  it('cancel stops early, flushes, and reports cancelled with the ranges left unfinished', async () => {
    const layout: SparseLayout = { size: 256 * MiB, extents: [{ offset: 0, data: randomBytes(256 * MiB) }] };
    const image = await makeSparseImage(dir, 'cancel.img', layout);
    const controller = new AbortController();
    const { report } = await runEngine({ image, noBmap: true, target: join(dir, 'cancel.out') }, controller.signal, (p) => {
      if (p.bytesDone > 0) controller.abort();
    });
    expect(report.status).toBe('cancelled');
    expect(report.error?.code).toBe('CANCELLED');
    expect(report.totals.bytesWritten).toBeLessThan(layout.size);
    expect(report.ranges.some((r) => r.state === 'pending')).toBe(true);
    expect(report.ranges.filter((r) => r.state === 'writing' || r.state === 'retrying')).toEqual([]);
    expect(report.ranges.some((r) => r.state === 'verified')).toBe(true);
  });

  it('progress events are throttled and end at 100 %', async () => {
    const { image } = await imageWithBmap('progress.img', CORNER_CASES['random sparse'] as SparseLayout);
    const { progress, report } = await runEngine({ image, target: join(dir, 'progress.out') });
    const last = progress[progress.length - 1];
    expect(last?.bytesDone).toBe(report.totals.mappedBytes);
    const states = progress.flatMap((p) => p.rangeChanges).filter((c) => c.state === 'verified');
    expect(new Set(states.map((c) => c.index)).size).toBe(report.ranges.length);
  });
});

describeRoot('copy to a loop device pre-filled with 0xFF', () => {
  for (const name of ['one byte', '4097 bytes', 'mapped partial last block', 'unmapped partial last block', 'random sparse']) {
    it(`${name}: mapped blocks equal the image; unmapped blocks untouched but for the capacity probe's markers`, async () => {
      const layout = CORNER_CASES[name] as SparseLayout;
      const { image, bmap } = await imageWithBmap(`loop-${name.replace(/\W+/g, '-')}.img`, layout);
      const backing = join(dir, `loop-${name.replace(/\W+/g, '-')}.dev`);
      const deviceSize = Math.ceil((layout.size + 64 * KiB) / MiB) * MiB;
      writeFileSync(backing, Buffer.alloc(deviceSize, 0xff));
      const loop = await attachLoop(backing);
      try {
        const source = readFileSync(image);
        for (const probe of [false, true]) {
          writeFileSync(backing, Buffer.alloc(deviceSize, 0xff));
          const { report } = await runEngine({ image, target: loop.device, probe });
          expect(report.error).toBeUndefined();
          expect(report.status).toBe('verified');
          expect(report.target.kind).toBe('block-device');
          expect(report.readback).toBe('direct');
          const device = await readDirect(loop.device, 0, deviceSize);
          const mapped = new Uint8Array(layout.size);
          for (const range of report.ranges) mapped.fill(1, range.first * 4096, Math.min((range.last + 1) * 4096, layout.size));
          const plan = report.ranges.map((r) => ({ ...r, start: r.first * 4096, end: Math.min((r.last + 1) * 4096, layout.size), checksum: null }));
          const markers = probe ? planMarkers(deviceSize, plan, layout.size) : [];
          expect(report.probe?.markers ?? 0).toBe(markers.length);
          const isMarker = (i: number): boolean => markers.some((m) => i >= m && i < m + 4096);
          for (let i = 0; i < deviceSize; i++) {
            if (i < layout.size && mapped[i]) {
              if (device[i] !== source[i]) throw new Error(`byte ${i}: device ${device[i]}, expected ${source[i]} (mapped)`);
            } else if (!isMarker(i) && device[i] !== 0xff) throw new Error(`byte ${i}: device ${device[i]}, expected 255 (unmapped, not a probe marker)`);
          }
        }
        const verify = await runEngine({ mode: 'verify', image, bmapPath: bmap, target: loop.device });
        expect(verify.report.status).toBe('verified');
      } finally {
        await loop.detach();
      }
    });
  }
});
