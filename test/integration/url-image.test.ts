/**
 * Images opened from URLs (openImage over the loopback test server): every format decoded through the
 * real decoders with the bmap discovered next to the image; a raw image fetched by its mapped ranges only;
 * a resumed stream; published sha256 values; bmap signatures fetched next to the bmap; the download cache.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mappedBytes } from '../../src/shared/bmap';
import { openImage, type OpenImageOptions } from '../../src/main/engine/open-image';
import { bmaptoolCreate, makeSparseImage, type SparseLayout } from '../helpers/bmap-fixtures';
import { TestHttpServer } from '../helpers/http-server';
import { detachSign, makeKey } from '../helpers/pgp-keys';

const MiB = 1024 * 1024;
const LAYOUT: SparseLayout = {
  size: 12 * MiB + 123,
  extents: [
    { offset: 0, length: 300_000, seed: 1 },
    { offset: 3 * MiB, length: 1536 * 1024 + 5, seed: 2 },
    { offset: 7 * MiB + 4096 * 3, length: 70_000, seed: 3 },
    { offset: 10 * MiB, length: 1 * MiB, seed: 4 },
  ],
};

let dir: string;
let server: TestHttpServer;
let image: Buffer;
let imagePath: string;
const env: NodeJS.ProcessEnv = { GNUPGHOME: '/nonexistent' };
const base: OpenImageOptions = { decoder: 'auto', verifySignature: true, env, http: { env: {}, timeoutMs: 2000 } };

async function streamAll(source: { stream(): AsyncIterable<Uint8Array> }): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source.stream()) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    return { code: (err as { code?: string }).code ?? '', message: (err as Error).message };
  }
  throw new Error('expected a failure');
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sureflash-url-'));
  imagePath = await makeSparseImage(dir, 'os.img', LAYOUT);
  await bmaptoolCreate(imagePath, join(dir, 'os.img.bmap'));
  image = readFileSync(imagePath);
  execFileSync('gzip', ['-k', '-f', imagePath]);
  execFileSync('bzip2', ['-k', '-f', imagePath]);
  execFileSync('xz', ['-k', '-f', '-T2', '--block-size=4MiB', imagePath]);
  execFileSync('zstd', ['-q', '-k', '-f', imagePath]);
  server = await new TestHttpServer().start();
  server.put('/os.img', { file: imagePath });
  server.put('/os.img.bmap', readFileSync(join(dir, 'os.img.bmap')));
  for (const ext of ['gz', 'bz2', 'xz', 'zst']) server.put(`/os.img.${ext}`, readFileSync(`${imagePath}.${ext}`));
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('every format from a URL, bmap discovered next to it', () => {
  for (const ext of ['gz', 'bz2', 'xz', 'zst']) {
    for (const decoder of ['auto', 'builtin'] as const) {
      it(`.${ext} (${decoder})`, async () => {
        const opened = await openImage(server.url(`/os.img.${ext}`), { ...base, decoder });
        try {
          expect(opened.origin).toBe('url');
          expect(opened.bmapPath).toBe(server.url('/os.img.bmap'));
          expect(opened.signature.status).toBe('unsigned');
          expect(opened.source.readAt).toBeNull();
          expect((await streamAll(opened.source)).equals(image)).toBe(true);
          expect(opened.download?.bytes).toBeGreaterThanOrEqual(readFileSync(`${imagePath}.${ext}`).length);
        } finally {
          await opened.close();
        }
      });
    }
  }
});

describe('raw image with a bmap: only the mapped ranges are fetched', () => {
  it('readAt serves every mapped byte; the server sends about the mapped bytes', async () => {
    server.requests.length = 0;
    const opened = await openImage(server.url('/os.img'), base);
    try {
      const bmap = opened.bmap!;
      const readAt = opened.source.readAt!;
      expect(readAt).not.toBeNull();
      const window = Buffer.alloc(2 * MiB);
      for (const r of bmap.ranges) {
        const start = r.first * bmap.blockSize;
        const end = Math.min((r.last + 1) * bmap.blockSize, bmap.imageSize);
        for (let at = start; at < end; at += window.length) {
          const n = await readAt(window.subarray(0, Math.min(window.length, end - at)), at);
          expect(window.subarray(0, n).equals(image.subarray(at, at + n))).toBe(true);
        }
      }
      const mapped = mappedBytes(bmap);
      const sent = server.bytesSent('/os.img');
      expect(mapped).toBeLessThan(image.length / 4);
      expect(sent).toBeGreaterThanOrEqual(mapped);
      expect(sent).toBeLessThanOrEqual(mapped + 4096 + 4 * 64 * 1024);
    } finally {
      await opened.close();
    }
  });
});

describe('resume', () => {
  it('a dropped .xz stream resumes and decodes byte-exact', async () => {
    server.fault('/os.img.xz', { dropAfter: 1_000_000, times: 1 });
    const opened = await openImage(server.url('/os.img.xz'), { ...base, decoder: 'builtin' });
    try {
      // The probe took the first fault: drop the stream itself now.
      server.fault('/os.img.xz', { dropAfter: 500_000 });
      expect((await streamAll(opened.source)).equals(image)).toBe(true);
      expect(server.requestsFor('/os.img.xz').some((r) => /^bytes=[1-9]\d*-$/.test(r.range ?? ''))).toBe(true);
    } finally {
      await opened.close();
    }
  });
});

describe('sha256', () => {
  it('a matching SHA256SUMS is "pending" until the stream ends, then "matches"', async () => {
    server.put('/SHA256SUMS', Buffer.from(`${sha256(readFileSync(`${imagePath}.gz`))}  os.img.gz\n${'0'.repeat(64)}  other.img\n`));
    const opened = await openImage(server.url('/os.img.gz'), base);
    try {
      expect(opened.checksum()).toMatchObject({ status: 'pending', source: server.url('/SHA256SUMS') });
      await streamAll(opened.source);
      expect(opened.checksum().status).toBe('matches');
    } finally {
      await opened.close();
      server.remove('/SHA256SUMS');
    }
  });

  it('a wrong IMAGE.sha256 fails the stream at its end', async () => {
    server.put('/os.img.zst.sha256', Buffer.from(`${'ab'.repeat(32)}  os.img.zst\n`));
    const opened = await openImage(server.url('/os.img.zst'), base);
    try {
      const err = await failure(streamAll(opened.source));
      expect(err.code).toBe('CHECKSUM_MISMATCH');
      expect(opened.checksum().status).toBe('mismatch');
    } finally {
      await opened.close();
      server.remove('/os.img.zst.sha256');
    }
  });

  it('mapped-only fetch: the whole-file sha256 is not checkable, and says so', async () => {
    const opened = await openImage(server.url('/os.img'), { ...base, sha256: sha256(image) });
    try {
      expect(opened.checksum().status).toBe('not-checked');
    } finally {
      await opened.close();
    }
  });
});

describe('signatures next to a bmap URL', () => {
  it('a good .asc is valid with the keyring; a stranger\'s is refused before reading the image', async () => {
    const publisher = await makeKey('Publisher');
    const stranger = await makeKey('Stranger');
    const ring = join(dir, 'ring.asc');
    writeFileSync(ring, publisher.publicArmored);
    const bmap = readFileSync(join(dir, 'os.img.bmap'));
    server.put('/os.img.bmap.asc', await detachSign(publisher, bmap));
    try {
      const opened = await openImage(server.url('/os.img.gz'), { ...base, keyring: ring });
      expect(opened.signature).toMatchObject({ status: 'valid', fingerprint: publisher.fingerprint, source: server.url('/os.img.bmap.asc') });
      await opened.close();
      server.put('/os.img.bmap.asc', await detachSign(stranger, bmap));
      server.requests.length = 0;
      const err = await failure(openImage(server.url('/os.img.gz'), { ...base, keyring: ring }));
      expect(err.code).toBe('SIGNATURE_UNKNOWN_KEY');
      expect(err.message).toContain(stranger.fingerprint);
      expect(server.requestsFor('/os.img.gz').every((r) => r.range === 'bytes=0-4095')).toBe(true);
    } finally {
      server.remove('/os.img.bmap.asc');
    }
  });
});

describe('download cache', () => {
  it('keeps a download, reuses it verified, and downloads again when the copy is damaged', async () => {
    const cacheDir = join(dir, 'cache');
    const cache = { dir: cacheDir, limitBytes: null };
    const first = await openImage(server.url('/os.img.gz'), { ...base, cache });
    expect(first.cachedFile).toBeNull();
    expect((await streamAll(first.source)).equals(image)).toBe(true);
    await first.close();
    server.requests.length = 0;
    const second = await openImage(server.url('/os.img.gz'), { ...base, cache });
    expect(second.cachedFile).not.toBeNull();
    expect((await streamAll(second.source)).equals(image)).toBe(true);
    await second.close();
    expect(server.bytesSent('/os.img.gz')).toBeLessThanOrEqual(4096);
    // Damage the cached copy: it is found out by its hash and fetched again.
    const file = second.cachedFile!;
    const bytes = readFileSync(file);
    bytes[1000] = (bytes[1000] ?? 0) ^ 0xff;
    writeFileSync(file, bytes);
    const third = await openImage(server.url('/os.img.gz'), { ...base, cache });
    expect(third.cachedFile).toBeNull();
    expect((await streamAll(third.source)).equals(image)).toBe(true);
    await third.close();
  });
});
