/**
 * The probe's authenticity fields (what the image step shows): where the image is, the bmap's signature
 * and the published sha256, for files and URLs; untrusted signatures and wrong checksums are reported, not
 * thrown (the flash refuses them). Main accepts http(s) URLs as images.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageLocationSchema } from '../../src/main/services/api-validation';
import { probeImage } from '../../src/main/engine/probe';
import { TestHttpServer } from '../helpers/http-server';
import { clearsign, detachSign, makeKey, type TestKey } from '../helpers/pgp-keys';

const bmapText = readFileSync(new URL('../fixtures/bmap/standard-2.0.bmap', import.meta.url), 'utf8');
const imageSize = Number(/<ImageSize>\s*(\d+)/.exec(bmapText)?.[1]);
let dir: string;
let server: TestHttpServer;
let publisher: TestKey;
let keyring: string;
const image = Buffer.alloc(imageSize, 0x5a);
const env = { GNUPGHOME: '/nonexistent' };
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sureflash-probe-'));
  publisher = await makeKey('Probe Publisher');
  keyring = join(dir, 'ring.asc');
  writeFileSync(keyring, publisher.publicArmored);
  server = await new TestHttpServer().start();
  server.put('/os.img', image);
  server.put('/os.img.bmap', Buffer.from(bmapText));
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('probe of a URL', () => {
  it('source url, signature valid with the keyring, checksum not checkable for a mapped-only raw fetch', async () => {
    server.put('/os.img.bmap.sig', await detachSign(publisher, Buffer.from(bmapText), true));
    server.put('/os.img.sha256', Buffer.from(`${sha(image)}\n`));
    try {
      const info = await probeImage(server.url('/os.img'), { auth: { keyring }, env });
      expect(info).toMatchObject({ source: 'url', name: 'os.img', fileSize: imageSize, imageSize, compression: 'none' });
      expect(info.bmap?.path).toBe(server.url('/os.img.bmap'));
      expect(info.signature).toMatchObject({ status: 'valid', signer: publisher.userId, fingerprint: publisher.fingerprint });
      expect(info.checksum).toEqual({ kind: 'sha256', status: 'not-checked', source: server.url('/os.img.sha256') });
    } finally {
      server.remove('/os.img.bmap.sig');
      server.remove('/os.img.sha256');
    }
  });

  it('an unknown key is reported as unknown-key (with its fingerprint), not thrown', async () => {
    const stranger = await makeKey('Stranger');
    server.put('/os.img.bmap.asc', await detachSign(stranger, Buffer.from(bmapText)));
    try {
      const info = await probeImage(server.url('/os.img'), { auth: { keyring }, env });
      expect(info.signature).toMatchObject({ status: 'unknown-key', fingerprint: stranger.fingerprint });
    } finally {
      server.remove('/os.img.bmap.asc');
    }
  });

  it('a 404 is an error naming the URL', async () => {
    await expect(probeImage(server.url('/nothing.img'), { env })).rejects.toMatchObject({ code: 'DOWNLOAD_NOT_FOUND' });
  });
});

describe('probe of a file', () => {
  it('a clearsigned bmap next to it is read and checked; a matching sha256 sidecar matches', async () => {
    const path = join(dir, 'disk.img');
    writeFileSync(path, image);
    writeFileSync(`${path}.bmap`, await clearsign(publisher, bmapText));
    writeFileSync(join(dir, 'SHA256SUMS'), `${sha(image)}  disk.img\n`);
    const info = await probeImage(path, { auth: { keyring }, env });
    expect(info).toMatchObject({ source: 'file', signature: { status: 'valid', source: 'clearsigned bmap' } });
    expect(info.checksum).toEqual({ kind: 'sha256', status: 'matches', source: join(dir, 'SHA256SUMS') });
    const wrong = await probeImage(path, { auth: { keyring, sha256: '1'.repeat(64) }, env });
    expect(wrong.checksum).toEqual({ kind: 'sha256', status: 'mismatch', source: '--sha256' });
    const unchecked = await probeImage(path, { auth: { noSigVerify: true }, env });
    expect(unchecked.signature.status).toBe('not-checked');
    expect(unchecked.bmap?.imageSize).toBe(imageSize);
  });
});

describe('main accepts http(s) URLs as images', () => {
  it.each([
    ['https://example.test/os.img.xz', true],
    ['http://user:pw@example.test:8080/a/b.img?x=1', true],
    ['/images/os.img', true],
    ['file:///etc/passwd', false],
    ['ftp://example.test/os.img', false],
    ['relative/os.img', false],
  ])('%s -> %s', (value, ok) => {
    expect(imageLocationSchema.safeParse(value).success).toBe(ok);
  });
});
