import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSource } from '../../src/main/engine/source';
import { MIN_CHUNK } from '../../src/main/engine/source/rechunk';
import type { DecoderPreference } from '../../src/main/engine/source';
import { compress, drain, run, sampleImage, scratch } from './source-helpers';

const tmp = scratch('roundtrip');
afterAll(() => tmp.cleanup());

const image = sampleImage();
const tiny = Buffer.from('tiny image\n');

interface Case {
  name: string;
  compression: string;
  data: Buffer;
  make: () => string;
  size: number | null;
}

const cases: Case[] = [
  { name: 'raw', compression: 'none', data: image, size: image.length, make: () => (writeFileSync(tmp.file('a.img'), image), tmp.file('a.img')) },
  { name: 'gzip', compression: 'gzip', data: image, size: null, make: () => compress(tmp.file('b.img'), image, 'gzip') },
  {
    name: 'multi-member gzip',
    compression: 'gzip',
    data: image,
    size: null,
    make: () => {
      const half = image.length >> 1;
      const a = compress(tmp.file('m1.img'), image.subarray(0, half), 'gzip');
      const b = compress(tmp.file('m2.img'), image.subarray(half), 'gzip');
      const both = Buffer.concat([run('cat', [a]), run('cat', [b])]);
      writeFileSync(tmp.file('multi.img.gz'), both);
      return tmp.file('multi.img.gz');
    },
  },
  { name: 'xz', compression: 'xz', data: image, size: image.length, make: () => compress(tmp.file('c.img'), image, 'xz') },
  {
    name: 'multi-block xz',
    compression: 'xz',
    data: image,
    size: image.length,
    make: () => compress(tmp.file('d.img'), image, 'xz', ['-T2', '--block-size=300KiB']),
  },
  { name: 'zstd', compression: 'zstd', data: image, size: image.length, make: () => compress(tmp.file('e.img'), image, 'zstd') },
  {
    name: 'two zstd frames',
    compression: 'zstd',
    data: image,
    size: image.length,
    make: () => {
      const half = image.length >> 1;
      const a = compress(tmp.file('zf1.img'), image.subarray(0, half), 'zstd');
      const b = compress(tmp.file('zf2.img'), image.subarray(half), 'zstd');
      writeFileSync(tmp.file('frames.img.zst'), Buffer.concat([run('cat', [a]), run('cat', [b])]));
      return tmp.file('frames.img.zst');
    },
  },
  {
    name: 'zstd without content size (compressed from a pipe)',
    compression: 'zstd',
    data: image,
    size: null,
    make: () => {
      writeFileSync(tmp.file('piped.img.zst'), execFileSync('zstd', ['-q', '-c', '-'], { input: image, maxBuffer: 1 << 30 }));
      return tmp.file('piped.img.zst');
    },
  },
  { name: 'bzip2', compression: 'bzip2', data: image, size: null, make: () => compress(tmp.file('f.img'), image, 'bzip2') },
  { name: 'empty raw', compression: 'none', data: Buffer.alloc(0), size: 0, make: () => (writeFileSync(tmp.file('empty.img'), ''), tmp.file('empty.img')) },
  { name: 'empty gzip', compression: 'gzip', data: Buffer.alloc(0), size: null, make: () => compress(tmp.file('empty-g.img'), Buffer.alloc(0), 'gzip') },
  { name: 'empty xz', compression: 'xz', data: Buffer.alloc(0), size: 0, make: () => compress(tmp.file('empty-x.img'), Buffer.alloc(0), 'xz') },
  { name: 'empty zstd', compression: 'zstd', data: Buffer.alloc(0), size: 0, make: () => compress(tmp.file('empty-z.img'), Buffer.alloc(0), 'zstd') },
  { name: 'empty bzip2', compression: 'bzip2', data: Buffer.alloc(0), size: null, make: () => compress(tmp.file('empty-b.img'), Buffer.alloc(0), 'bzip2') },
  { name: 'tiny gzip', compression: 'gzip', data: tiny, size: null, make: () => compress(tmp.file('tiny-g.img'), tiny, 'gzip') },
  { name: 'tiny xz', compression: 'xz', data: tiny, size: tiny.length, make: () => compress(tmp.file('tiny-x.img'), tiny, 'xz') },
  { name: 'tiny zstd', compression: 'zstd', data: tiny, size: tiny.length, make: () => compress(tmp.file('tiny-z.img'), tiny, 'zstd') },
  { name: 'tiny bzip2', compression: 'bzip2', data: tiny, size: null, make: () => compress(tmp.file('tiny-b.img'), tiny, 'bzip2') },
];

describe.each(['auto', 'builtin'] as DecoderPreference[])('openSource round trip (decoder %s)', { timeout: 60_000 }, (decoder) => {
  it.each(cases)('$name decodes byte-identical', async (c) => {
    const path = c.make();
    const source = await openSource(path, { decoder });
    try {
      expect(source.compression).toBe(c.compression);
      expect(source.imageSize).toBe(c.size);
      if (decoder === 'builtin') expect(source.decoder).not.toMatch(/system/);
      const { data, chunks } = await drain(source);
      expect(data.length).toBe(c.data.length);
      expect(data.equals(c.data)).toBe(true);
      // All but the last chunk are at least MIN_CHUNK (small decoder outputs are coalesced).
      for (const size of chunks.slice(0, -1)) expect(size).toBeGreaterThanOrEqual(MIN_CHUNK);
      // A second pass re-reads from the start.
      expect((await drain(source)).data.equals(c.data)).toBe(true);
    } finally {
      await source.close();
    }
  });
});

describe('fast paths', () => {
  it('auto picks the system xz program and the in-process zstd-napi; builtin never spawns a program', { timeout: 30_000 }, async () => {
    const xzPath = compress(tmp.file('sys.img'), tiny, 'xz');
    const zstPath = compress(tmp.file('sys2.img'), tiny, 'zstd');
    const decoderOf = async (path: string, decoder: DecoderPreference): Promise<string> => {
      const source = await openSource(path, { decoder });
      await source.close();
      return source.decoder;
    };
    expect(await decoderOf(xzPath, 'auto')).toBe('xz (system)');
    expect(await decoderOf(zstPath, 'auto')).toBe('zstd-napi');
    expect(await decoderOf(xzPath, 'builtin')).toBe('xz-decompress (wasm)');
    expect(await decoderOf(zstPath, 'builtin')).toBe('zstd-napi');
  });
});

describe('raw random access', () => {
  it('readAt reads at an offset and returns 0 at the end', async () => {
    const path = tmp.file('ra.img');
    writeFileSync(path, image);
    const source = await openSource(path, { decoder: 'auto' });
    try {
      expect(source.readAt).not.toBeNull();
      const buf = Buffer.alloc(4096);
      expect(await source.readAt!(buf, 1000)).toBe(4096);
      expect(buf.equals(image.subarray(1000, 1000 + 4096))).toBe(true);
      expect(await source.readAt!(buf, image.length - 10)).toBe(10);
      expect(await source.readAt!(buf, image.length)).toBe(0);
    } finally {
      await source.close();
    }
  });

  it('a gzip file gives its ISIZE trailer as a size hint only', async () => {
    const source = await openSource(compress(tmp.file('hint.img'), image, 'gzip'), { decoder: 'auto' });
    expect(source.imageSize).toBeNull();
    expect(source.sizeHint).toBe(image.length);
    await source.close();
  });

  it('compressed sources have no readAt', async () => {
    const source = await openSource(compress(tmp.file('nra.img'), tiny, 'gzip'), { decoder: 'auto' });
    expect(source.readAt).toBeNull();
    await source.close();
  });
});

describe('zstd output buffer reuse', () => {
  it('a .zst of many small frames decodes exactly (small outputs are merged by rechunk, not overwritten)', async () => {
    const { compress: zstdCompress } = await import('zstd-napi');
    const frames = Array.from({ length: 300 }, () => randomBytes(1000));
    const path = tmp.file('frames.img.zst');
    writeFileSync(path, Buffer.concat(frames.map((f) => zstdCompress(f))));
    const source = await openSource(path, { decoder: 'builtin' });
    try {
      const { data, chunks } = await drain(source);
      expect(data.equals(Buffer.concat(frames))).toBe(true);
      expect(chunks.length).toBeLessThan(frames.length); // merged, so the reuse path was exercised
    } finally {
      await source.close();
    }
  });
});
