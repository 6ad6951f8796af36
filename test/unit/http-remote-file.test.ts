/**
 * RemoteFile against the loopback test server: whole reads, resume after a dropped connection (Range from
 * the byte reached), refusal when the server has no Range support, content that changes between
 * requests, error statuses, stalls, wrong lengths, redirects, credentials, TLS and a proxy.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/main/engine/source/http/http-client';
import { RemoteFile } from '../../src/main/engine/source/http/remote-file';
import { makeSelfSignedCert, TestHttpServer, TestProxy, type TestCert } from '../helpers/http-server';

const data = randomBytes(3 * 1024 * 1024 + 777);
let server: TestHttpServer;
let client: HttpClient;
let dir: string;

async function readAll(file: RemoteFile, start = 0, end: number | null = null): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of file.read(start, end)) parts.push(Buffer.from(chunk));
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

const fast = { retries: 3, backoffMs: 5 };

beforeAll(async () => {
  server = await new TestHttpServer().start();
  client = new HttpClient({ timeoutMs: 400, env: {} });
  dir = mkdtempSync(join(tmpdir(), 'sureflash-http-'));
});
afterAll(async () => {
  await client.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  server.requests.length = 0;
});

describe('reading', () => {
  it('learns size, validators and range support from one small request, then reads everything', async () => {
    server.put('/a.img', data);
    const file = await RemoteFile.open(server.url('/a.img'), { client, ...fast });
    expect(file.size).toBe(data.length);
    expect(file.ranges).toBe(true);
    expect(file.etag).toMatch(/^"/);
    expect(file.head.equals(data.subarray(0, 4096))).toBe(true);
    expect((await readAll(file)).equals(data)).toBe(true);
    expect((await readAll(file, 1000, 5000)).equals(data.subarray(1000, 5000))).toBe(true);
    expect(server.requests.map((r) => r.range)).toEqual(['bytes=0-4095', 'bytes=0-', 'bytes=1000-4999']);
    expect(server.requests.slice(1).every((r) => r.ifRange === file.etag)).toBe(true);
  });

  it('resumes a dropped connection from the byte it reached, byte-exact', async () => {
    server.put('/drop.img', data);
    const file = await RemoteFile.open(server.url('/drop.img'), { client, ...fast });
    server.fault('/drop.img', { dropAfter: 1_000_000, times: 2 });
    const got = await readAll(file);
    expect(got.equals(data)).toBe(true);
    const ranges = server.requestsFor('/drop.img').map((r) => r.range);
    expect(ranges[1]).toBe('bytes=0-');
    expect(ranges[2]).toMatch(/^bytes=\d+-$/);
    const resumedAt = Number(/bytes=(\d+)-/.exec(ranges[2] ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(1_000_000);
    expect(ranges).toHaveLength(4);
  });

  it('resumes after a 503 and after a stall', async () => {
    server.put('/flaky.img', data);
    const file = await RemoteFile.open(server.url('/flaky.img'), { client, ...fast });
    server.fault('/flaky.img', { status: 503 });
    server.fault('/flaky.img', { stallAfter: 500_000 });
    expect((await readAll(file)).equals(data)).toBe(true);
  });

  it('refuses to restart when the server has no Range support and the connection drops', async () => {
    server.put('/norange.img', data);
    server.fault('/norange.img', { noRanges: true, times: Infinity });
    const file = await RemoteFile.open(server.url('/norange.img'), { client, ...fast });
    expect(file.ranges).toBe(false);
    expect(file.size).toBe(data.length);
    server.fault('/norange.img', { dropAfter: 200_000 });
    const file2 = file;
    const err = await failure(readAll(file2));
    expect(err.code).toBe('DOWNLOAD_NOT_RESUMABLE');
    expect(err.message).toContain('/norange.img');
    expect(err.message).toMatch(/does not support Range requests/);
  });

  it('reads a server without Range support from the start when nothing breaks', async () => {
    server.put('/plain.img', data);
    server.fault('/plain.img', { noRanges: true, times: Infinity });
    const file = await RemoteFile.open(server.url('/plain.img'), { client, ...fast });
    expect((await readAll(file)).equals(data)).toBe(true);
  });

  it('refuses content that changed between requests (If-Range answered with 200)', async () => {
    server.put('/change.img', data);
    const file = await RemoteFile.open(server.url('/change.img'), { client, ...fast });
    server.put('/change.img', Buffer.concat([data.subarray(0, 10), Buffer.from('x'), data.subarray(11)]));
    const err = await failure(readAll(file));
    expect(err.code).toBe('DOWNLOAD_CHANGED');
  });

  it('refuses content that changed when the server sends no ETag (Last-Modified compared)', async () => {
    server.put('/change2.img', { content: data, etag: null, lastModified: new Date('2024-01-01T00:00:00Z') });
    const file = await RemoteFile.open(server.url('/change2.img'), { client, ...fast });
    server.fault('/change2.img', { dropAfter: 300_000 });
    const reading = readAll(file);
    server.put('/change2.img', { content: data, etag: null, lastModified: new Date('2024-02-01T00:00:00Z') });
    const err = await failure(reading);
    expect(err.code).toBe('DOWNLOAD_CHANGED');
  });
});

describe('errors name the URL and the status', () => {
  it('404', async () => {
    const err = await failure(RemoteFile.open(server.url('/missing.img'), { client, ...fast }));
    expect(err).toMatchObject({ code: 'DOWNLOAD_NOT_FOUND' });
    expect(err.message).toContain(`${server.url('/missing.img')}: 404 Not Found`);
  });

  it('401 and 403, credentials never in the message', async () => {
    server.put('/secret.img', data);
    server.requireAuth('lab', 's3cret', /^\/secret/);
    const none = await failure(RemoteFile.open(server.url('/secret.img'), { client, ...fast }));
    expect(none.code).toBe('DOWNLOAD_DENIED');
    expect(none.message).toMatch(/401 Unauthorized: no credentials were sent/);
    const wrong = await failure(RemoteFile.open(server.url('/secret.img', { user: 'lab', password: 'nope' }), { client, ...fast }));
    expect(wrong.code).toBe('DOWNLOAD_DENIED');
    expect(wrong.message).not.toContain('nope');
    const file = await RemoteFile.open(server.url('/secret.img', { user: 'lab', password: 's3cret' }), { client, ...fast });
    expect(file.display).not.toContain('s3cret');
    expect((await readAll(file)).equals(data)).toBe(true);
    server.fault('/forbidden.img', { status: 403 });
    const forbidden = await failure(RemoteFile.open(server.url('/forbidden.img'), { client, ...fast }));
    expect(forbidden.code).toBe('DOWNLOAD_DENIED');
    expect(forbidden.message).toContain('403 Forbidden');
  });

  it('credentials from a netrc file', async () => {
    const netrc = join(dir, 'netrc');
    writeFileSync(netrc, `machine 127.0.0.1\n  login lab\n  password s3cret\n`);
    const withNetrc = new HttpClient({ timeoutMs: 400, env: { NETRC: netrc } });
    try {
      const file = await RemoteFile.open(server.url('/secret.img'), { client: withNetrc, ...fast });
      expect((await readAll(file, 0, 10)).equals(data.subarray(0, 10))).toBe(true);
    } finally {
      await withNetrc.close();
    }
  });

  it('a stalled server times out after the retries', async () => {
    server.put('/stall.img', data);
    server.fault('/stall.img', { stallAfter: 0, times: Infinity });
    const err = await failure(RemoteFile.open(server.url('/stall.img'), { client, retries: 1, backoffMs: 5 }));
    expect(err.code).toBe('DOWNLOAD_TIMEOUT');
    expect(err.message).toContain('/stall.img');
    expect(err.message).toMatch(/gave up after 2 attempts/);
  });

  it('a wrong Content-Length is refused', async () => {
    server.put('/long.img', data);
    server.fault('/long.img', { lengthDelta: 100 });
    const err = await failure(RemoteFile.open(server.url('/long.img'), { client, ...fast }));
    expect(err.code).toBe('DOWNLOAD_FAILED');
    expect(err.message).toMatch(/Content-Length 4196 for a range of 4096 bytes/);
  });

  it('a Content-Length longer than the file ends in a clear failure, not a hang', async () => {
    server.put('/short.img', data);
    const file = await RemoteFile.open(server.url('/short.img'), { client, ...fast });
    server.fault('/short.img', { noRanges: true, lengthDelta: 1000, times: Infinity });
    const plain = await RemoteFile.open(server.url('/short.img'), { client, ...fast });
    const err = await failure(readAll(plain));
    expect(err.code).toBe('DOWNLOAD_NOT_RESUMABLE');
    expect(err.message).toContain(`broke off after ${data.length} bytes`);
    expect(file.size).toBe(data.length);
  });

  it('DNS failure', async () => {
    const err = await failure(RemoteFile.open('http://no-such-host.invalid/os.img', { client, retries: 0 }));
    expect(err.code).toBe('DOWNLOAD_FAILED');
    expect(err.message).toMatch(/no-such-host\.invalid could not be resolved/);
  });
});

describe('redirects, TLS and proxies', () => {
  let cert: TestCert;
  let tls: TestHttpServer;
  beforeAll(async () => {
    cert = makeSelfSignedCert();
    tls = await new TestHttpServer().start(cert);
    tls.put('/os.img', data);
  });
  afterAll(async () => {
    await tls.stop();
    cert.dispose();
  });

  it('follows redirects, keeps the query string and says where they led', async () => {
    server.put('/v2/os.img', data);
    server.redirect('/latest.img', '/v2/os.img?token=abc', 302);
    const logs: string[] = [];
    const file = await RemoteFile.open(server.url('/latest.img?x=1'), { client, ...fast, log: (_l, m) => logs.push(m) });
    expect(file.redirects).toEqual([`${server.url('/v2/os.img')}?…`]);
    expect(logs.join('\n')).toContain('redirected to');
    expect(logs.join('\n')).not.toContain('abc');
    expect((await readAll(file, 0, 100)).equals(data.subarray(0, 100))).toBe(true);
    expect(server.requests[0]?.url).toBe('/latest.img?x=1');
    expect(server.requests.at(-1)?.url).toBe('/v2/os.img?token=abc');
  });

  it('stops after too many redirects', async () => {
    server.redirect('/loop1', '/loop2');
    server.redirect('/loop2', '/loop1');
    const err = await failure(RemoteFile.open(server.url('/loop1'), { client, ...fast }));
    expect(err.code).toBe('DOWNLOAD_FAILED');
    expect(err.message).toMatch(/more than 10 redirects/);
  });

  it('https with a trusted certificate; an untrusted one is a TLS error', async () => {
    const trusting = new HttpClient({ timeoutMs: 400, env: {}, ca: cert.cert });
    try {
      const file = await RemoteFile.open(tls.url('/os.img'), { client: trusting, ...fast });
      expect((await readAll(file)).equals(data)).toBe(true);
    } finally {
      await trusting.close();
    }
    const err = await failure(RemoteFile.open(tls.url('/os.img'), { client, ...fast }));
    expect(err.code).toBe('DOWNLOAD_TLS');
    expect(err.message).toContain(tls.url('/os.img'));
  });

  it('goes through HTTPS_PROXY, and not for hosts in NO_PROXY', async () => {
    const proxy = await new TestProxy().start();
    const proxied = new HttpClient({ timeoutMs: 400, env: { HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url }, ca: cert.cert });
    const bypass = new HttpClient({ timeoutMs: 400, env: { HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' }, ca: cert.cert });
    try {
      const file = await RemoteFile.open(tls.url('/os.img'), { client: proxied, ...fast });
      expect((await readAll(file)).equals(data)).toBe(true);
      expect(proxy.connects.length).toBeGreaterThan(0);
      const before = proxy.connects.length;
      await RemoteFile.open(tls.url('/os.img'), { client: bypass, ...fast });
      expect(proxy.connects.length).toBe(before);
    } finally {
      await proxied.close();
      await bypass.close();
      await proxy.stop();
    }
  });
});
