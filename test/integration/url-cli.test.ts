/**
 * `sureflash copy URL DEST` through the built CLI against the loopback HTTP(S) server: every format with the
 * bmap discovered next to it (to a file, and as root to a loop device), a dropped connection resumed, a
 * server without Range support, content that changes, the mapped-only fetch of a raw image, 404 / 401 /
 * stall / TLS errors (target untouched), signatures, sha256 sidecars and the download cache.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bmaptoolCreate, makeSparseImage, type SparseLayout } from '../helpers/bmap-fixtures';
import { cliBuilt, describeRun, runCli, type CliResult } from '../helpers/cli';
import { makeSelfSignedCert, TestHttpServer, type TestCert } from '../helpers/http-server';
import { attachLoop, readDirect } from '../helpers/loop';
import { detachSign, makeKey, type TestKey } from '../helpers/pgp-keys';
import { describeRoot } from '../helpers/root';

const MiB = 1024 * 1024;
const LAYOUT: SparseLayout = {
  size: 16 * MiB + 4096,
  extents: [
    { offset: 0, length: 200_000, seed: 11 },
    { offset: 3 * MiB, length: 1536 * 1024 + 77, seed: 12 },
    { offset: 9 * MiB, length: 40_000, seed: 13 },
    { offset: 14 * MiB, length: 700_000, seed: 14 },
  ],
};
const FORMATS: Record<string, (src: string) => string> = {
  raw: (src) => src,
  gz: (src) => (execFileSync('gzip', ['-k', '-f', src]), `${src}.gz`),
  bz2: (src) => (execFileSync('bzip2', ['-k', '-f', src]), `${src}.bz2`),
  xz: (src) => (execFileSync('xz', ['-k', '-f', '-T2', '--block-size=2MiB', src]), `${src}.xz`),
  zst: (src) => (execFileSync('zstd', ['-q', '-k', '-f', src]), `${src}.zst`),
  zip: (src) => (execFileSync('zip', ['-q', '-j', `${src}.zip`, src]), `${src}.zip`),
};

let dir: string;
let cacheDir: string;
let server: TestHttpServer;
let image: Buffer;
let bmapBytes: Buffer;
const files: Record<string, Buffer> = {};
let env: Record<string, string>;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const name = (ext: string): string => (ext === 'raw' ? '/os.img' : `/os.img.${ext}`);
const PREFILL = Buffer.alloc(MiB, 0xff);

function target(label: string): string {
  const path = join(dir, `${label}.out`);
  writeFileSync(path, PREFILL);
  return path;
}

async function copy(url: string, dest: string, extra: string[] = [], more: Record<string, string> = {}): Promise<CliResult> {
  return runCli(['copy', ...extra, url, dest], { env: { ...env, ...more } });
}

function expectRefused(result: CliResult, code: string, dest: string, words: RegExp): void {
  expect(result.code, describeRun(result)).toBe(1);
  expect(result.report?.error?.code, describeRun(result)).toBe(code);
  expect(result.stderr).toMatch(words);
  expect(readFileSync(dest).equals(PREFILL), 'the target was touched').toBe(true);
  expect(result.report?.totals.bytesWritten).toBe(0);
}

beforeAll(async () => {
  if (!cliBuilt()) throw new Error('build first: node scripts/build.mjs');
  dir = mkdtempSync(join(tmpdir(), 'sureflash-urlcli-'));
  cacheDir = join(dir, 'cache');
  const path = await makeSparseImage(dir, 'os.img', LAYOUT);
  await bmaptoolCreate(path, join(dir, 'os.img.bmap'));
  image = readFileSync(path);
  bmapBytes = readFileSync(join(dir, 'os.img.bmap'));
  server = await new TestHttpServer().start();
  for (const [ext, make] of Object.entries(FORMATS)) {
    files[ext] = readFileSync(make(path));
    server.put(name(ext), files[ext]!);
  }
  server.put('/os.img.bmap', bmapBytes);
  env = {
    SUREFLASH_HTTP_TIMEOUT_MS: '1500',
    SUREFLASH_HTTP_RETRIES: '3',
    SUREFLASH_HTTP_BACKOFF_MS: '20',
    SUREFLASH_CACHE_DIR: cacheDir,
    GNUPGHOME: join(dir, 'no-gnupg'),
    NETRC: join(dir, 'no-netrc'),
    HTTP_PROXY: '',
    HTTPS_PROXY: '',
    http_proxy: '',
    https_proxy: '',
  };
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  server.onRequest = null;
});

describe('every format from a URL, bmap discovered next to it, to a regular file', () => {
  for (const ext of Object.keys(FORMATS)) {
    it(ext, async () => {
      const dest = target(`fmt-${ext}`);
      const result = await copy(server.url(name(ext)), dest);
      expect(result.code, describeRun(result)).toBe(0);
      expect(result.report?.status).toBe('verified');
      expect(result.report?.bmap?.path).toBe(server.url('/os.img.bmap'));
      expect(result.report?.image).toMatchObject({ origin: 'url', path: server.url(name(ext)), signature: { status: 'unsigned' } });
      expect(readFileSync(dest).equals(image)).toBe(true);
    });
  }
});

describeRoot('a URL image to a loop device', () => {
  it('.xz: the device holds the image', async () => {
    const backing = join(dir, 'loop.dev');
    writeFileSync(backing, Buffer.alloc(LAYOUT.size + MiB, 0xff));
    const loop = await attachLoop(backing);
    try {
      const result = await copy(server.url('/os.img.xz'), loop.device);
      expect(result.code, describeRun(result)).toBe(0);
      expect(result.report?.readback).toBe('direct');
      const device = await readDirect(loop.device, 0, Math.ceil(LAYOUT.size / 4096) * 4096);
      for (const r of result.report?.ranges ?? []) {
        const start = r.first * 4096;
        const end = Math.min((r.last + 1) * 4096, LAYOUT.size);
        expect(device.subarray(start, end).equals(image.subarray(start, end)), `range ${r.index}`).toBe(true);
      }
    } finally {
      await loop.detach();
    }
  });
});

describe('dropped connections and changing content', () => {
  it('a connection dropped mid-stream is resumed: Verified, byte-exact', async () => {
    server.onRequest = (path, n) => {
      if (path === '/os.img.gz' && n === 2) server.fault(path, { dropAfter: 300_000 });
    };
    server.requests.length = 0;
    const dest = target('drop');
    const result = await copy(server.url('/os.img.gz'), dest);
    expect(result.code, describeRun(result)).toBe(0);
    expect(readFileSync(dest).equals(image)).toBe(true);
    const ranges = server.requestsFor('/os.img.gz').map((r) => r.range);
    expect(ranges.slice(0, 2)).toEqual(['bytes=0-4095', 'bytes=0-']);
    expect(ranges.slice(2).some((r) => /^bytes=[1-9]\d*-$/.test(r ?? ''))).toBe(true);
    expect(result.stderr).toMatch(/resuming with a Range request/);
  });

  it('a server without Range support that drops the connection: a clear error, no silent restart', async () => {
    server.put('/plain/os.img.zst', files.zst!);
    server.put('/plain/os.img.bmap', bmapBytes);
    server.fault('/plain/os.img.zst', { noRanges: true, times: Infinity });
    server.onRequest = (path, n) => {
      if (path === '/plain/os.img.zst' && n === 2) server.fault(path, { dropAfter: 200_000 });
    };
    const dest = join(dir, 'norange.out');
    const result = await copy(server.url('/plain/os.img.zst'), dest);
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.report?.error?.code).toBe('DOWNLOAD_NOT_RESUMABLE');
    expect(result.report?.error?.message).toContain(server.url('/plain/os.img.zst'));
    expect(server.requestsFor('/plain/os.img.zst')).toHaveLength(2);
  });

  it('content that changes between requests is refused', async () => {
    server.put('/changing/os.img', image);
    server.put('/changing/os.img.bmap', bmapBytes);
    server.onRequest = (path, n) => {
      if (path === '/changing/os.img' && n === 3) server.put(path, Buffer.from(image).fill(7, 0, 100));
    };
    const result = await copy(server.url('/changing/os.img'), join(dir, 'changing.out'));
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.report?.error?.code).toBe('DOWNLOAD_CHANGED');
  });
});

describe('cancel while the server is silent', () => {
  it('Ctrl-C during a stalled download stops at once: cancelled, not a timeout', async () => {
    server.put('/slow/os.img.gz', files.gz!);
    server.put('/slow/os.img.bmap', bmapBytes);
    server.onRequest = (path, n) => {
      if (path === '/slow/os.img.gz' && n === 2) {
        server.fault(path, { stallAfter: 400_000 });
        // Interrupt once the stall has begun: the request is open and nothing more comes.
        setTimeout(() => spawned?.kill('SIGINT'), 300);
      }
    };
    let spawned: import('node:child_process').ChildProcess | null = null;
    const result = await runCli(['copy', server.url('/slow/os.img.gz'), target('cancel')], {
      env: { ...env, SUREFLASH_HTTP_TIMEOUT_MS: '120000' },
      timeoutMs: 60_000,
      onSpawn: (child) => {
        spawned = child;
      },
    });
    expect(result.hung, describeRun(result)).toBe(false);
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.report?.status).toBe('cancelled');
    expect(result.report?.error?.code).toBe('CANCELLED');
  });
});

describe('a raw image with a bmap downloads only what is mapped', () => {
  it('bytes downloaded ≈ mapped bytes', async () => {
    server.requests.length = 0;
    const dest = target('mapped');
    const result = await copy(server.url('/os.img'), dest);
    expect(result.code, describeRun(result)).toBe(0);
    expect(readFileSync(dest).equals(image)).toBe(true);
    const mapped = result.report!.totals.mappedBytes;
    const downloaded = result.report!.image.downloadedBytes!;
    expect(mapped).toBeLessThan(image.length / 4);
    expect(downloaded).toBeGreaterThanOrEqual(mapped);
    // The 4 KiB probe, the bmap, and at most a few small gaps merged into the requests.
    expect(downloaded).toBeLessThanOrEqual(mapped + 4096 + bmapBytes.length + 4 * 64 * 1024);
    expect(server.bytesSent('/os.img')).toBeLessThanOrEqual(mapped + 4096 + 4 * 64 * 1024);
    expect(result.stderr).toMatch(/MB downloaded|kB downloaded/);
  });
});

describe('errors name the URL and the status; nothing is written', () => {
  it('404', async () => {
    const dest = target('404');
    const result = await copy(server.url('/missing.img.xz'), dest);
    expectRefused(result, 'DOWNLOAD_NOT_FOUND', dest, /missing\.img\.xz: 404 Not Found/);
  });

  it('401 without credentials; with them in the URL it works and the password is never shown', async () => {
    server.put('/private/os.img.xz', files.xz!);
    server.put('/private/os.img.bmap', bmapBytes);
    server.requireAuth('lab', 'hunter22', /^\/private\//);
    const dest = target('401');
    expectRefused(await copy(server.url('/private/os.img.xz'), dest), 'DOWNLOAD_DENIED', dest, /401 Unauthorized/);
    const ok = await copy(server.url('/private/os.img.xz', { user: 'lab', password: 'hunter22' }), target('401-ok'));
    expect(ok.code, describeRun(ok)).toBe(0);
    expect(`${ok.stderr}${JSON.stringify(ok.report)}`).not.toContain('hunter22');
    const netrc = join(dir, 'netrc');
    writeFileSync(netrc, 'machine 127.0.0.1 login lab password hunter22\n');
    const viaNetrc = await copy(server.url('/private/os.img.xz'), target('401-netrc'), [], { NETRC: netrc });
    expect(viaNetrc.code, describeRun(viaNetrc)).toBe(0);
  });

  it('a stalled server times out', async () => {
    server.put('/stall/os.img.gz', files.gz!);
    server.fault('/stall/os.img.gz', { stallAfter: 0, times: Infinity });
    const dest = target('stall');
    expectRefused(await copy(server.url('/stall/os.img.gz'), dest), 'DOWNLOAD_TIMEOUT', dest, /stall\/os\.img\.gz: the server stopped sending/);
  });

  it('an untrusted certificate fails as TLS; trusted through NODE_EXTRA_CA_CERTS it works', async () => {
    let cert: TestCert | null = null;
    let tls: TestHttpServer | null = null;
    try {
      cert = makeSelfSignedCert();
      tls = await new TestHttpServer().start(cert);
      tls.put('/os.img.zst', files.zst!);
      tls.put('/os.img.bmap', bmapBytes);
      const dest = target('tls');
      expectRefused(await copy(tls.url('/os.img.zst'), dest), 'DOWNLOAD_TLS', dest, /secure connection failed/);
      const ok = await copy(tls.url('/os.img.zst'), target('tls-ok'), [], { NODE_EXTRA_CA_CERTS: cert.certPath });
      expect(ok.code, describeRun(ok)).toBe(0);
    } finally {
      await tls?.stop();
      cert?.dispose();
    }
  });
});

describe('signatures', () => {
  let publisher: TestKey;
  let keyring: string;
  beforeAll(async () => {
    publisher = await makeKey('Image Publisher');
    keyring = join(dir, 'publisher.asc');
    writeFileSync(keyring, publisher.publicArmored);
    server.put('/signed/os.img.xz', files.xz!);
    server.put('/signed/os.img.bmap', bmapBytes);
  });

  it('a good signature next to the bmap: Verified, signer in the report', async () => {
    server.put('/signed/os.img.bmap.asc', await detachSign(publisher, bmapBytes));
    const result = await copy(server.url('/signed/os.img.xz'), target('sig-good'), ['--keyring', keyring]);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.report?.image.signature).toMatchObject({ status: 'valid', fingerprint: publisher.fingerprint });
    expect(result.stderr).toContain('Signed by Image Publisher');
  });

  it('a wrong signature is refused before any write, naming the key', async () => {
    server.put('/signed/os.img.bmap.asc', await detachSign(publisher, Buffer.concat([bmapBytes, Buffer.from(' ')])));
    const dest = target('sig-wrong');
    expectRefused(await copy(server.url('/signed/os.img.xz'), dest, ['--keyring', keyring]), 'SIGNATURE_INVALID', dest, new RegExp(publisher.fingerprint));
  });

  it('an unknown key is refused before any write, naming the key', async () => {
    const stranger = await makeKey('Stranger');
    server.put('/signed/os.img.bmap.asc', await detachSign(stranger, bmapBytes));
    const dest = target('sig-unknown');
    expectRefused(await copy(server.url('/signed/os.img.xz'), dest, ['--keyring', keyring]), 'SIGNATURE_UNKNOWN_KEY', dest, new RegExp(stranger.fingerprint));
    const unchecked = await copy(server.url('/signed/os.img.xz'), target('sig-off'), ['--no-sig-verify']);
    expect(unchecked.code, describeRun(unchecked)).toBe(0);
    expect(unchecked.report?.image.signature?.status).toBe('not-checked');
  });
});

describe('sha256 sidecars', () => {
  beforeAll(() => {
    server.put('/sums/os.img.zst', files.zst!);
    server.put('/sums/os.img.bmap', bmapBytes);
  });

  it('a matching SHA256SUMS: Verified, "matches" in the report', async () => {
    server.put('/sums/SHA256SUMS', Buffer.from(`${sha256(files.zst!)}  os.img.zst\n`));
    const result = await copy(server.url('/sums/os.img.zst'), target('sha-ok'));
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.report?.image.checksum).toMatchObject({ status: 'matches', source: server.url('/sums/SHA256SUMS') });
  });

  it('a wrong IMAGE.sha256: the job fails, and says the card must not be used', async () => {
    server.put('/sums/os.img.zst.sha256', Buffer.from(`${'0'.repeat(64)}  os.img.zst\n`));
    const result = await copy(server.url('/sums/os.img.zst'), target('sha-bad'));
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.report?.status).toBe('failed');
    expect(result.report?.error?.code).toBe('CHECKSUM_MISMATCH');
    expect(result.report?.image.checksum?.status).toBe('mismatch');
    expect(result.stderr).toMatch(/do not use it/);
    server.remove('/sums/os.img.zst.sha256');
  });

  it('a wrong sha256 for an .xz read by the system xz ends the decoder and fails the job with a report (no crash, no hang)', async () => {
    server.put('/sums/os.img.xz', files.xz!);
    const result = await runCli(['copy', '--sha256', '1'.repeat(64), server.url('/sums/os.img.xz'), target('sha-xz')], { env, timeoutMs: 30_000 });
    expect(result.hung, 'the job hung: the xz child waited for more input').toBe(false);
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.report?.image.decoder).toBe('xz (system)');
    expect(result.report?.error?.code).toBe('CHECKSUM_MISMATCH');
  });
});

describe('download cache', () => {
  it('a second flash reuses the verified copy; cache ls and clear', async () => {
    const first = await copy(server.url('/os.img.bz2'), target('cache-1'), ['--cache']);
    expect(first.code, describeRun(first)).toBe(0);
    expect(first.report?.image.cachedFile).toBeUndefined();
    server.requests.length = 0;
    const dest = target('cache-2');
    const second = await copy(server.url('/os.img.bz2'), dest, ['--cache']);
    expect(second.code, describeRun(second)).toBe(0);
    expect(second.report?.image.cachedFile).toMatch(/\.img$/);
    expect(readFileSync(dest).equals(image)).toBe(true);
    expect(server.bytesSent('/os.img.bz2')).toBeLessThanOrEqual(4096);
    const ls = await runCli(['cache', 'ls'], { env });
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain(server.url('/os.img.bz2'));
    expect(ls.stdout).toContain(sha256(files.bz2!));
    const clear = await runCli(['cache', 'clear'], { env });
    expect(clear.stdout).toMatch(/Removed 1 cached image/);
    expect((await runCli(['cache', 'ls'], { env })).stdout).toMatch(/No cached images/);
  });
});

describe('local images: the same checks, all before the first write', () => {
  it('a signed bmap next to the file, a sha256 sidecar, both refused when wrong with the target untouched', async () => {
    const local = join(dir, 'local');
    execFileSync('mkdir', ['-p', local]);
    const path = join(local, 'os.img.zst');
    writeFileSync(path, files.zst!);
    writeFileSync(join(local, 'os.img.bmap'), bmapBytes);
    const publisher = await makeKey('Local Publisher');
    const ring = join(local, 'ring.asc');
    writeFileSync(ring, publisher.publicArmored);
    writeFileSync(join(local, 'os.img.bmap.sig'), await detachSign(publisher, bmapBytes, true));
    writeFileSync(join(local, 'SHA256SUMS'), `${sha256(files.zst!)}  os.img.zst\n`);
    const good = await copy(path, target('local-good'), ['--keyring', ring]);
    expect(good.code, describeRun(good)).toBe(0);
    expect(good.report?.image).toMatchObject({ origin: 'file', signature: { status: 'valid' }, checksum: { status: 'matches' } });

    writeFileSync(join(local, 'SHA256SUMS'), `${'2'.repeat(64)}  os.img.zst\n`);
    const badSum = target('local-badsum');
    expectRefused(await copy(path, badSum, ['--keyring', ring]), 'CHECKSUM_MISMATCH', badSum, /Nothing was written/);

    writeFileSync(join(local, 'SHA256SUMS'), `${sha256(files.zst!)}  os.img.zst\n`);
    const stranger = await makeKey('Local Stranger');
    writeFileSync(join(local, 'os.img.bmap.sig'), await detachSign(stranger, bmapBytes, true));
    const badSig = target('local-badsig');
    expectRefused(await copy(path, badSig, ['--keyring', ring]), 'SIGNATURE_UNKNOWN_KEY', badSig, new RegExp(stranger.fingerprint));
    // Without a keyring, gpgv's default (absent here) holds no keys: a signed bmap is refused, as bmaptool refuses it.
    expectRefused(await copy(path, badSig), 'SIGNATURE_UNKNOWN_KEY', badSig, /no --keyring given/);
  });
});
