import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { openSource } from '../../src/main/engine/source';
import type { DecoderPreference } from '../../src/main/engine/source';
import { EngineError } from '../../src/main/engine/errors';
import { compress, drain, run, sampleImage, scratch } from './source-helpers';

const tmp = scratch('errors');
afterAll(() => tmp.cleanup());
const image = sampleImage(2 * 1024 * 1024);

/** Opens and drains, returning the EngineError thrown (fails the test when nothing is thrown). */
async function failure(path: string, decoder: DecoderPreference = 'auto'): Promise<EngineError> {
  try {
    const source = await openSource(path, { decoder });
    try {
      await drain(source);
    } finally {
      await source.close();
    }
  } catch (err) {
    expect(err).toBeInstanceOf(EngineError);
    return err as EngineError;
  }
  throw new Error(`${path}: expected an error`);
}

function truncate(path: string, keep: number): string {
  const out = `${path}.cut`;
  writeFileSync(out, readFileSync(path).subarray(0, keep));
  return out;
}

const formats = [
  { format: 'gzip', ext: 'gz' },
  { format: 'xz', ext: 'xz' },
  { format: 'zstd', ext: 'zst' },
  { format: 'bzip2', ext: 'bz2' },
] as const;

describe.each(['auto', 'builtin'] as DecoderPreference[])('damaged input (decoder %s)', { timeout: 60_000 }, (decoder) => {
  it.each(formats)('truncated $format -> SOURCE_TRUNCATED naming file, format and bytes', async ({ format }) => {
    const full = compress(tmp.file(`t-${decoder}-${format}.img`), image, format);
    const cut = truncate(full, Math.floor(readFileSync(full).length * 0.6));
    const err = await failure(cut, decoder);
    expect(err.code).toBe('SOURCE_TRUNCATED');
    expect(err.message).toContain(cut);
    expect(err.message).toContain(format);
    expect(err.message).toMatch(/after [\d,]+ decompressed bytes/);
    expect(err.message).not.toMatch(/stdin/);
    // No JavaScript internals from a decoder library reach the user.
    expect(err.message).not.toMatch(/Cannot read properties|undefined|TypeError/);
  });

  it.each(formats)('corrupted $format -> SOURCE_CORRUPT', async ({ format }) => {
    const full = compress(tmp.file(`c-${decoder}-${format}.img`), image, format);
    const bytes = readFileSync(full);
    // Overwrite a stretch in the middle of the compressed data.
    bytes.fill(0x55, Math.floor(bytes.length / 3), Math.floor(bytes.length / 3) + 64);
    const bad = `${full}.bad`;
    writeFileSync(bad, bytes);
    const err = await failure(bad, decoder);
    expect(err.code, err.message).toBe('SOURCE_CORRUPT');
    expect(err.message).toContain(bad);
    expect(err.message).toMatch(/after [\d,]+ decompressed bytes/);
  });
});

describe('truncated zip', () => {
  it('a zip cut short -> SOURCE_TRUNCATED naming the file', async () => {
    writeFileSync(tmp.file('z.img'), image);
    run('zip', ['-q', 'z.zip', 'z.img'], tmp.dir);
    const cut = truncate(tmp.file('z.zip'), 500_000);
    const err = await failure(cut);
    expect(err.code).toBe('SOURCE_TRUNCATED');
    expect(err.message).toContain(cut);
    expect(err.message).toContain('zip');
    expect(err.message).toMatch(/after 0 decompressed bytes/);
  });
});

describe('opening', () => {
  it('a missing file -> IMAGE_NOT_FOUND naming the path', async () => {
    const path = tmp.file('nope.img');
    await expect(openSource(path, { decoder: 'auto' })).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND', message: expect.stringContaining(path) });
  });

  it('a directory -> IMAGE_UNREADABLE naming the path', async () => {
    const path = tmp.file('dir.img');
    mkdirSync(path);
    await expect(openSource(path, { decoder: 'auto' })).rejects.toMatchObject({ code: 'IMAGE_UNREADABLE', message: expect.stringContaining(path) });
  });

  const isRoot = process.getuid?.() === 0;
  it.skipIf(isRoot)('an unreadable file -> IMAGE_UNREADABLE (skipped as root: root reads mode 000 files)', async () => {
    const path = tmp.file('locked.img');
    writeFileSync(path, 'x');
    chmodSync(path, 0o000);
    await expect(openSource(path, { decoder: 'auto' })).rejects.toMatchObject({ code: 'IMAGE_UNREADABLE', message: expect.stringContaining(path) });
  });

  it('a bmap passed as the image -> IMAGE_IS_BMAP', async () => {
    const path = tmp.file('os.img.bmap');
    writeFileSync(path, '<?xml version="1.0" ?>\n<!-- generated -->\n<bmap version="2.0">\n<ImageSize>4096</ImageSize>\n</bmap>\n');
    const err = await openSource(path, { decoder: 'auto' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IMAGE_IS_BMAP' });
    expect((err as Error).message).toBe(`${path} is a bmap file, not an image: pass the image and give the bmap with --bmap.`);
  });

  it('an lz4 file is refused clearly instead of being written raw', async () => {
    const path = tmp.file('x.img');
    writeFileSync(path, image.subarray(0, 10000));
    run('lz4', ['-q', '-f', path, `${path}.lz4`]);
    await expect(openSource(`${path}.lz4`, { decoder: 'auto' })).rejects.toMatchObject({ code: 'IMAGE_UNREADABLE' });
  });

  it('a multi-stream xz with stream padding decodes fully on both paths, sized from its indexes', async () => {
    const a = compress(tmp.file('ms1.img'), image.subarray(0, 1 << 20), 'xz');
    const b = compress(tmp.file('ms2.img'), image.subarray(1 << 20), 'xz');
    const both = tmp.file('multi-stream.img.xz');
    // Two streams with stream padding between them, as `xz` accepts.
    writeFileSync(both, Buffer.concat([readFileSync(a), Buffer.alloc(8), readFileSync(b)]));
    const auto = await openSource(both, { decoder: 'auto' });
    expect(auto.imageSize).toBe(image.length);
    expect((await drain(auto)).data.equals(image)).toBe(true);
    const builtin = await openSource(both, { decoder: 'builtin' });
    const outcome = await drain(builtin).then(
      (r) => ({ ok: r.data.equals(image) }),
      (e: unknown) => ({ code: (e as EngineError).code }),
    );
    expect(outcome).toEqual({ ok: true });
  });

  it('a stream shorter than the size known at open -> SOURCE_TRUNCATED (file cut while flashing)', async () => {
    const path = tmp.file('shrinks.img');
    writeFileSync(path, image);
    const source = await openSource(path, { decoder: 'auto' });
    expect(source.imageSize).toBe(image.length);
    truncateSync(path, 1_000_000);
    const err = await drain(source).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SOURCE_TRUNCATED' });
    expect((err as Error).message).toContain('after 1,000,000 decompressed bytes');
    await source.close();
  });
});
