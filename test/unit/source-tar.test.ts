/**
 * Images inside tar archives made by GNU tar: ustar, pax and GNU headers, long names, a .bmap member beside
 * the image, raw and compressed (.tar.gz/.bz2/.xz/.zst with both decoder preferences), sizes beyond 8 GiB
 * (GNU base-256 and pax, headers written by GNU tar itself), and the archives that must be refused.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { openSource } from '../../src/main/engine/source';
import { drain, run, sampleImage, scratch } from './source-helpers';

const tmp = scratch('tar');
afterAll(() => tmp.cleanup());

/** A folder holding `files` (name -> bytes) and a tar of them made by GNU tar with `args`. */
function tarOf(name: string, files: Record<string, Buffer | string>, args: string[] = []): string {
  const dir = tmp.file(`${name}.d`);
  mkdirSync(dir, { recursive: true });
  for (const [file, data] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), data);
  }
  const out = tmp.file(name);
  run('tar', ['-c', '-f', out, ...args, '-C', dir, ...Object.keys(files)]);
  return out;
}

async function openError(path: string): Promise<Error & { code?: string }> {
  return openSource(path, { decoder: 'auto' }).then(
    async (s) => {
      await s.close();
      throw new Error('opened');
    },
    (e: unknown) => e as Error & { code?: string },
  );
}

const image = sampleImage(2 * 1024 * 1024 + 777);
const longName = `${'deep-folder-name/'.repeat(5)}an-image-with-a-name-longer-than-one-hundred-characters.img`;

describe('raw tar archives', () => {
  it.each([['gnu'], ['ustar'], ['pax'], ['v7']])('%s format: the one image member, read in place', async (format) => {
    const path = tarOf(`one-${format}.tar`, { 'os.img': image }, [`--format=${format}`]);
    const source = await openSource(path, { decoder: 'auto' });
    try {
      expect(source).toMatchObject({ compression: 'none', decoder: 'tar', member: 'os.img', imageSize: image.length });
      const buf = Buffer.alloc(4096);
      expect(await source.readAt!(buf, 1024 * 1024)).toBe(4096);
      expect(buf.equals(image.subarray(1024 * 1024, 1024 * 1024 + 4096))).toBe(true);
      // readAt never reads past the member, into the archive's padding or end blocks.
      expect(await source.readAt!(Buffer.alloc(4096), image.length - 100)).toBe(100);
      expect((await drain(source)).data.equals(image)).toBe(true);
    } finally {
      await source.close();
    }
  });

  it.each([['gnu'], ['pax']])('a name longer than 100 characters (%s)', async (format) => {
    const path = tarOf(`long-${format}.tar`, { [longName]: image }, [`--format=${format}`]);
    const source = await openSource(path, { decoder: 'auto' });
    expect(source.member).toBe(longName);
    expect((await drain(source)).data.equals(image)).toBe(true);
    await source.close();
  });

  it('a .bmap member beside the image is kept, as with zip; folders and a README do not count', async () => {
    const bmap = '<?xml version="1.0"?>\n<bmap version="2.0"/>\n';
    const path = tarOf('with-bmap.tar', { 'os.img': image, 'os.img.bmap': bmap, 'docs/README.txt': 'read me' });
    const source = await openSource(path, { decoder: 'auto' });
    expect(source.member).toBe('os.img');
    expect(source.embeddedBmap?.toString()).toBe(bmap);
    await source.close();
  });

  it('two candidate images: ARCHIVE_AMBIGUOUS naming both', async () => {
    const err = await openError(tarOf('two.tar', { 'a.img': image, 'b.img': image.subarray(0, 4096) }));
    expect(err.code).toBe('ARCHIVE_AMBIGUOUS');
    expect(err.message).toContain('(a.img, b.img)');
  });

  it('only side files: ARCHIVE_EMPTY', async () => {
    const err = await openError(tarOf('empty.tar', { 'README.md': 'no image', 'os.img.sha256': 'abc' }));
    expect(err.code).toBe('ARCHIVE_EMPTY');
  });

  it('a member that is itself compressed is refused, as in a zip', async () => {
    const gz = execFileSync('gzip', ['-c'], { input: image, maxBuffer: 1 << 30 });
    const err = await openError(tarOf('nested.tar', { 'os.img.gz': gz }));
    expect(err.code).toBe('IMAGE_UNREADABLE');
    expect(err.message).toContain('os.img.gz inside the tar archive is itself gzip-compressed');
  });

  it('a sparse member (tar -S) is refused with how to extract it', async () => {
    const sparseFile = tmp.file('holes.img');
    const fd = openSync(sparseFile, 'w');
    writeSync(fd, image.subarray(0, 4096), 0, 4096, 0);
    writeSync(fd, image.subarray(0, 4096), 0, 4096, 8 * 1024 * 1024);
    closeSync(fd);
    const out = tmp.file('sparse.tar');
    run('tar', ['-c', '-S', '-f', out, '-C', tmp.dir, 'holes.img']);
    const err = await openError(out);
    expect(err.code).toBe('IMAGE_UNREADABLE');
    expect(err.message).toMatch(/holes\.img is stored as a sparse tar member .*tar -xSf/);
  });

  it('an archive cut inside its member is SOURCE_TRUNCATED before anything is read', async () => {
    const path = tarOf('cut.tar', { 'os.img': image });
    truncateSync(path, 1024 * 1024);
    const err = await openError(path);
    expect(err.code).toBe('SOURCE_TRUNCATED');
    expect(err.message).toContain('cut.tar');
  });

  it('a damaged header (checksum) is SOURCE_CORRUPT', async () => {
    const path = tarOf('bad-header.tar', { 'os.img': image, 'b.txt': 'x' });
    const bytes = readFileSync(path);
    const second = 512 + Math.ceil(image.length / 512) * 512;
    bytes[second + 10] = 0x41; // a byte of the second member's name
    writeFileSync(path, bytes);
    const err = await openError(path);
    expect(err.code).toBe('SOURCE_CORRUPT');
    expect(err.message).toContain('wrong checksum');
  });

  it('a tar on standard input is refused (it could be listed only by reading it all)', async () => {
    const path = tarOf('stdin.tar', { 'os.img': image });
    const stdin = new PassThrough();
    stdin.end(readFileSync(path));
    const err = await openSource('-', { decoder: 'auto', stdin }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IMAGE_UNREADABLE' });
    expect((err as Error).message).toContain('standard input holds a tar archive');
  });
});

describe.each(['auto', 'builtin'] as const)('compressed tar archives (decoder %s)', { timeout: 60_000 }, (decoder) => {
  it.each([['gzip', 'gz'], ['bzip2', 'bz2'], ['xz', 'xz'], ['zstd', 'zst']] as const)('.tar.%s: listed first, then the member is streamed', async (program, ext) => {
    const tar = tarOf(`packed-${ext}-${decoder}.tar`, { 'os.img': image, 'os.img.bmap': '<bmap/>' });
    const path = `${tar}.${ext}`;
    writeFileSync(path, execFileSync(program, ['-c'], { input: readFileSync(tar), maxBuffer: 1 << 30 }));
    const source = await openSource(path, { decoder });
    try {
      expect(source.compression).toBe(program);
      expect(source.decoder).toMatch(/, tar$/);
      expect(source).toMatchObject({ member: 'os.img', imageSize: image.length });
      // The bmap comes after the image in the archive: only the full listing finds it.
      expect(source.embeddedBmap?.toString()).toBe('<bmap/>');
      expect(source.readAt).toBeNull();
      expect((await drain(source)).data.equals(image)).toBe(true);
      expect((await drain(source)).data.equals(image)).toBe(true);
    } finally {
      await source.close();
    }
  });

  it('a .tar.gz with two images is refused before anything is streamed', async () => {
    const tar = tarOf(`two-${decoder}.tar`, { 'a.img': image, 'b.img': image });
    writeFileSync(`${tar}.gz`, execFileSync('gzip', ['-c'], { input: readFileSync(tar), maxBuffer: 1 << 30 }));
    const err = await openSource(`${tar}.gz`, { decoder }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ARCHIVE_AMBIGUOUS' });
  });
});

describe('members of 8 GiB and more (headers written by GNU tar)', () => {
  const size = 9 * 1024 ** 3 + 512 * 3;
  // GNU tar writes the header of a 9 GiB sparse file at once; only the header is kept, the data is a hole.
  it.each([['gnu', 'base-256 size field'], ['pax', 'pax size record']])('%s (%s)', async (format) => {
    const big = tmp.file(`big-${format}.img`);
    writeFileSync(big, '');
    truncateSync(big, size);
    const headers = execFileSync('sh', ['-c', `tar --format=${format} -cf - -C '${tmp.dir}' 'big-${format}.img' 2>/dev/null | head -c 4096`], { maxBuffer: 1 << 20 });
    // Where GNU tar's headers end: the first data byte of the member is the first 512-byte block of zeros.
    let dataStart = 512;
    while (dataStart < headers.length && !headers.subarray(dataStart, dataStart + 512).every((b) => b === 0)) dataStart += 512;
    const path = tmp.file(`big-${format}.tar`);
    writeFileSync(path, headers.subarray(0, dataStart));
    truncateSync(path, dataStart + size + 1024);
    const source = await openSource(path, { decoder: 'auto' });
    try {
      expect(source.imageSize).toBe(size);
      expect(source.member).toBe(`big-${format}.img`);
      const buf = Buffer.alloc(1024, 0x55);
      expect(await source.readAt!(buf, size - 512)).toBe(512);
      expect(buf.subarray(0, 512).every((b) => b === 0)).toBe(true);
    } finally {
      await source.close();
    }
  });
});
