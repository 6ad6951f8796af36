/**
 * bmap signatures checked in-process: good, wrong and unknown keys, tampered bmaps, clearsigned bmaps,
 * --fingerprint, --no-sig-verify, and keyrings in all three forms — with keys from openpgp.js and, where
 * gpg is installed, signatures and keyboxes made by the real gpg.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBmapSignature, refuseUntrusted, type SignatureInput } from '../../src/main/engine/auth/bmap-signature';
import { defaultKeyringPath, loadKeyring, readKeyringFile, type Keyring } from '../../src/main/engine/auth/keyring';
import { parseBmap } from '../../src/main/engine/bmap-parser';
import { clearsign, detachSign, GpgHome, gpgAvailable, makeKey, type TestKey } from '../helpers/pgp-keys';

const bmapText = readFileSync(new URL('../fixtures/bmap/standard-2.0.bmap', import.meta.url), 'utf8');
const bmap = Buffer.from(bmapText);
let dir: string;
let publisher: TestKey;
let stranger: TestKey;
let keyring: Keyring;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sureflash-sig-'));
  publisher = await makeKey('Publisher');
  stranger = await makeKey('Stranger');
  const path = join(dir, 'publisher.asc');
  writeFileSync(path, publisher.publicArmored);
  keyring = await readKeyringFile(path);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const input = (over: Partial<SignatureInput>): SignatureInput => ({
  bmap,
  bmapName: 'os.img.bmap',
  detached: null,
  keyring,
  fingerprint: null,
  verify: true,
  ...over,
});

function refusal(fn: () => void): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  return { code: 'none', message: '' };
}

describe('detached signatures', () => {
  it('a good armored signature is valid and names the signer', async () => {
    const sig = await detachSign(publisher, bmap);
    const result = await checkBmapSignature(input({ detached: { bytes: sig, name: 'os.img.bmap.asc' } }));
    expect(result.info).toMatchObject({ status: 'valid', fingerprint: publisher.fingerprint, signer: publisher.userId, source: 'os.img.bmap.asc' });
    expect(() => refuseUntrusted(result, 'os.img.bmap', { keyring: false, fingerprint: false })).not.toThrow();
  });

  it('a good binary signature is valid', async () => {
    const sig = await detachSign(publisher, bmap, true);
    const result = await checkBmapSignature(input({ detached: { bytes: sig, name: 'os.img.bmap.sig' } }));
    expect(result.info.status).toBe('valid');
  });

  it('a signature over another bmap is invalid, and the job is refused naming the key', async () => {
    const sig = await detachSign(publisher, Buffer.from(bmapText.replace('<ImageSize>', '<ImageSize> ')));
    const result = await checkBmapSignature(input({ detached: { bytes: sig, name: 'os.img.bmap.asc' } }));
    expect(result.info.status).toBe('invalid');
    const err = refusal(() => refuseUntrusted(result, 'os.img.bmap', { keyring: false, fingerprint: false }));
    expect(err.code).toBe('SIGNATURE_INVALID');
    expect(err.message).toContain(publisher.fingerprint);
  });

  it('a signature by a key outside the keyring is unknown-key, refused naming the key', async () => {
    const sig = await detachSign(stranger, bmap);
    const result = await checkBmapSignature(input({ detached: { bytes: sig, name: 'os.img.bmap.asc' } }));
    expect(result.info).toMatchObject({ status: 'unknown-key', fingerprint: stranger.fingerprint });
    const err = refusal(() => refuseUntrusted(result, 'os.img.bmap', { keyring: false, fingerprint: false }));
    expect(err.code).toBe('SIGNATURE_UNKNOWN_KEY');
    expect(err.message).toContain(stranger.fingerprint);
  });

  it('garbage in the signature file is invalid', async () => {
    const result = await checkBmapSignature(input({ detached: { bytes: Buffer.from('not a signature'), name: 'os.img.bmap.sig' } }));
    expect(result.info.status).toBe('invalid');
  });

  it('--fingerprint pins the key', async () => {
    const sig = await detachSign(publisher, bmap);
    const detached = { bytes: sig, name: 'os.img.bmap.asc' };
    const pinned = await checkBmapSignature(input({ detached, fingerprint: publisher.fingerprint.toLowerCase().replace(/(.{4})/g, '$1 ') }));
    expect(pinned.info.status).toBe('valid');
    const other = await checkBmapSignature(input({ detached, fingerprint: stranger.fingerprint }));
    expect(other.info.status).toBe('unknown-key');
    expect(other.problem).toContain('--fingerprint');
  });

  it('--no-sig-verify checks nothing; no signature is unsigned, refused only when --keyring or --fingerprint ask for one', async () => {
    const sig = await detachSign(stranger, bmap);
    const off = await checkBmapSignature(input({ detached: { bytes: sig, name: 'x.asc' }, verify: false }));
    expect(off.info.status).toBe('not-checked');
    const none = await checkBmapSignature(input({}));
    expect(none.info.status).toBe('unsigned');
    expect(() => refuseUntrusted(none, 'os.img.bmap', { keyring: false, fingerprint: false })).not.toThrow();
    expect(refusal(() => refuseUntrusted(none, 'os.img.bmap', { keyring: true, fingerprint: false })).code).toBe('SIGNATURE_MISSING');
  });
});

describe('clearsigned bmaps', () => {
  it('are read (the XML parses with its own checksum intact) and checked', async () => {
    const signed = await clearsign(publisher, bmapText);
    const result = await checkBmapSignature(input({ bmap: signed }));
    expect(result.info.status).toBe('valid');
    expect(parseBmap(result.xml, 'os.img.bmap').imageSize).toBe(parseBmap(bmap, 'x').imageSize);
    const unchecked = await checkBmapSignature(input({ bmap: signed, verify: false }));
    expect(unchecked.info.status).toBe('not-checked');
    expect(parseBmap(unchecked.xml, 'os.img.bmap').ranges.length).toBeGreaterThan(0);
  });

  it('a tampered clearsigned bmap is invalid', async () => {
    const signed = (await clearsign(publisher, bmapText)).toString().replace('<BlockSize>', '<BlockSize> ');
    const result = await checkBmapSignature(input({ bmap: Buffer.from(signed) }));
    expect(result.info.status).toBe('invalid');
  });
});

describe('keyrings', () => {
  it('with no --keyring, gpgv\'s trustedkeys in GNUPGHOME; none there means an empty keyring', async () => {
    const home = join(dir, 'gnupg-empty');
    expect(defaultKeyringPath({ GNUPGHOME: home })).toBeNull();
    expect((await loadKeyring(null, { GNUPGHOME: home })).keys).toHaveLength(0);
    const sig = await detachSign(publisher, bmap);
    const result = await checkBmapSignature(input({ detached: { bytes: sig, name: 'a.asc' }, keyring: { path: null, keys: [] } }));
    expect(result.info.status).toBe('unknown-key');
    expect(result.problem).toMatch(/no --keyring given/);
  });

  it('a keyring file that holds no keys is a clear error', async () => {
    const path = join(dir, 'junk.gpg');
    writeFileSync(path, 'junk');
    await expect(readKeyringFile(path)).rejects.toMatchObject({ code: 'USAGE' });
  });
});

describe.skipIf(!gpgAvailable())('made by the real gpg (skipped when gpg is not installed)', () => {
  let gpg: GpgHome;
  let bmapPath: string;
  beforeAll(() => {
    gpg = new GpgHome();
    bmapPath = join(dir, 'gpg.img.bmap');
    writeFileSync(bmapPath, bmap);
  });
  afterAll(() => gpg.dispose());

  for (const form of ['keybox', 'binary', 'armored'] as const) {
    it(`detached .asc and .sig, clearsigned, against a ${form} keyring`, async () => {
      const ringPath = join(dir, `ring-${form}${form === 'keybox' ? '.kbx' : form === 'binary' ? '.gpg' : '.asc'}`);
      if (form === 'keybox') gpg.keyboxWithKey(ringPath);
      else if (form === 'binary') gpg.exportBinary(ringPath);
      else gpg.exportArmored(ringPath);
      const ring = await readKeyringFile(ringPath);
      expect(ring.keys).toHaveLength(1);
      for (const armor of [true, false]) {
        const sig = readFileSync(gpg.detachSign(bmapPath, armor));
        const result = await checkBmapSignature(input({ detached: { bytes: sig, name: 'x' }, keyring: ring }));
        expect(result.info).toMatchObject({ status: 'valid', fingerprint: gpg.fingerprint, signer: gpg.userId });
      }
      const clear = readFileSync(gpg.clearsign(bmapPath, join(dir, 'gpg-clear.bmap')));
      const result = await checkBmapSignature(input({ bmap: clear, keyring: ring }));
      expect(result.info.status).toBe('valid');
      expect(parseBmap(result.xml, 'gpg-clear.bmap').imageSize).toBe(parseBmap(bmap, 'x').imageSize);
    });
  }

  it('the default keyring is GNUPGHOME/trustedkeys.kbx', async () => {
    const home = join(dir, 'gnupg-default');
    rmSync(home, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(home);
    gpg.keyboxWithKey(join(home, 'trustedkeys.kbx'));
    expect(defaultKeyringPath({ GNUPGHOME: home })).toBe(join(home, 'trustedkeys.kbx'));
    expect((await loadKeyring(null, { GNUPGHOME: home })).keys).toHaveLength(1);
  });
});
