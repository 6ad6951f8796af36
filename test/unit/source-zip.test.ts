import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { openSource } from '../../src/main/engine/source';
import { drain, run, sampleImage, scratch } from './source-helpers';

const tmp = scratch('zip');
afterAll(() => tmp.cleanup());
const image = sampleImage(2 * 1024 * 1024 + 7);

/** Builds a zip in a fresh folder from name -> content, with extra zip options. */
function makeZip(name: string, files: Record<string, Buffer | string>, options: string[] = []): string {
  const dir = tmp.file(name);
  mkdirSync(dir);
  for (const [member, content] of Object.entries(files)) {
    const path = `${dir}/${member}`;
    mkdirSync(path.slice(0, path.lastIndexOf('/')), { recursive: true });
    writeFileSync(path, content);
  }
  run('zip', ['-q', '-r', ...options, '../' + name + '.zip', ...Object.keys(files)], dir);
  return tmp.file(name + '.zip');
}

describe('zip sources', () => {
  it.each([
    ['deflate', []],
    ['stored', ['-0']],
  ])('a %s member round-trips, with imageSize from the central directory', async (_kind, options) => {
    const path = makeZip(`single-${_kind}`, { 'os.img': image }, options as string[]);
    const source = await openSource(path, { decoder: 'builtin' });
    try {
      expect(source.compression).toBe('zip');
      expect(source.imageSize).toBe(image.length);
      expect(source.member).toBe('os.img');
      expect(source.embeddedBmap ?? null).toBeNull();
      expect((await drain(source)).data.equals(image)).toBe(true);
    } finally {
      await source.close();
    }
  });

  it('picks the image next to a .bmap, a checksum and a readme, and exposes the bmap', async () => {
    const bmap = '<?xml version="1.0" ?>\n<bmap version="2.0"></bmap>\n';
    const path = makeZip('with-sides', {
      'os.img': image,
      'os.img.bmap': bmap,
      'os.img.sha256': 'abc  os.img\n',
      'README.md': '# hello\n',
      '__MACOSX/._os.img': 'mac metadata',
    });
    const source = await openSource(path, { decoder: 'auto' });
    try {
      expect(source.member).toBe('os.img');
      expect(source.embeddedBmap?.toString()).toBe(bmap);
      expect((await drain(source)).data.equals(image)).toBe(true);
    } finally {
      await source.close();
    }
  });

  it('two images -> ARCHIVE_AMBIGUOUS naming both', async () => {
    const path = makeZip('two', { 'a.img': image, 'sub/b.img': 'other' });
    const err = await openSource(path, { decoder: 'auto' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ARCHIVE_AMBIGUOUS' });
    expect((err as Error).message).toContain('a.img');
    expect((err as Error).message).toContain('sub/b.img');
    expect((err as Error).message).toContain(path);
  });

  it('a compressed image inside the zip is refused, not written as raw bytes', async () => {
    const path = makeZip('nested', { 'os.img.xz': run('xz', ['-c', '-1', '-'], undefined, image.subarray(0, 100_000)) });
    const err = await openSource(path, { decoder: 'auto' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IMAGE_UNREADABLE' });
    expect((err as Error).message).toContain('xz-compressed');
  });

  it('only side files -> ARCHIVE_EMPTY', async () => {
    const path = makeZip('empty', { 'notes.txt': 'hi', 'os.img.bmap': '<bmap/>' });
    await expect(openSource(path, { decoder: 'auto' })).rejects.toMatchObject({ code: 'ARCHIVE_EMPTY' });
  });

  it('a damaged stored member fails its CRC-32 -> SOURCE_CORRUPT', async () => {
    const path = makeZip('crc', { 'os.img': image }, ['-0']);
    const bytes = readFileSync(path);
    bytes.fill(0xaa, 100_000, 100_100); // inside the stored data, not the headers
    writeFileSync(path, bytes);
    const source = await openSource(path, { decoder: 'auto' });
    await expect(drain(source)).rejects.toMatchObject({ code: 'SOURCE_CORRUPT', message: expect.stringContaining('CRC-32') });
    await source.close();
  });

  it.each([
    ['smaller', -4096, 'SOURCE_CORRUPT', 'more than'],
    ['larger', 4096, 'SOURCE_TRUNCATED', 'ends before'],
  ])('a member whose inflated size is %s than the central directory says fails, naming it', async (_kind, delta, code, words) => {
    const path = makeZip(`size-${_kind}`, { 'os.img': image });
    const bytes = readFileSync(path);
    const central = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])); // central directory header
    expect(central).toBeGreaterThan(0);
    bytes.writeUInt32LE(bytes.readUInt32LE(central + 24) + delta, central + 24); // its uncompressed size
    writeFileSync(path, bytes);
    const source = await openSource(path, { decoder: 'auto' });
    expect(source.imageSize).toBe(image.length + delta);
    await expect(drain(source)).rejects.toMatchObject({ code, message: expect.stringContaining(words) });
    await source.close();
  });

  it('stopping early closes the file and the inflater of the member (no descriptor left open)', async () => {
    const path = makeZip('early', { 'os.img': sampleImage(8 * 1024 * 1024) });
    const openOn = (): number => readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === path;
      } catch {
        return false; // the directory's own descriptor, gone by now
      }
    }).length;
    const source = await openSource(path, { decoder: 'auto' });
    try {
      const held = openOn(); // yauzl's own, until close()
      for await (const chunk of source.stream()) {
        expect(chunk.length).toBeGreaterThan(0);
        expect(openOn()).toBe(held + 1);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(openOn()).toBe(held);
    } finally {
      await source.close();
    }
  });
});
