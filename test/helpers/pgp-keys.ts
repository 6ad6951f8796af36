/**
 * OpenPGP keys and signatures for the signature tests, made in-process with openpgp.js (fast ECC keys), and
 * with the real `gpg` when it is installed (what publishers use): keyrings as armored files, binary
 * exports and GnuPG keyboxes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';

export interface TestKey {
  privateKey: openpgp.PrivateKey;
  publicArmored: string;
  fingerprint: string;
  userId: string;
}

export async function makeKey(name: string): Promise<TestKey> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name, email: `${name.toLowerCase().replace(/\W+/g, '.')}@example.test` }],
    format: 'object',
  });
  return {
    privateKey,
    publicArmored: publicKey.armor(),
    fingerprint: publicKey.getFingerprint().toUpperCase(),
    userId: publicKey.getUserIDs()[0] ?? name,
  };
}

/** A detached signature over the bytes (armored unless `binary`). */
export async function detachSign(key: TestKey, data: Uint8Array, binary = false): Promise<Buffer> {
  const message = await openpgp.createMessage({ binary: data });
  if (binary) return Buffer.from(await openpgp.sign({ message, signingKeys: key.privateKey, detached: true, format: 'binary' }));
  return Buffer.from(await openpgp.sign({ message, signingKeys: key.privateKey, detached: true }));
}

/** The text clearsigned. */
export async function clearsign(key: TestKey, text: string): Promise<Buffer> {
  const message = await openpgp.createCleartextMessage({ text });
  return Buffer.from(await openpgp.sign({ message, signingKeys: key.privateKey }));
}

export function gpgAvailable(): boolean {
  return spawnSync('gpg', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A throwaway GnuPG home with one signing key, for fixtures made by the real gpg. */
export class GpgHome {
  readonly dir = mkdtempSync(join(tmpdir(), 'sureflash-gnupg-'));
  fingerprint = '';

  constructor(readonly userId = 'Test Publisher <publisher@example.test>') {
    this.gpg(['--quick-generate-key', '--passphrase', '', userId, 'ed25519', 'sign', '1d']);
    const listing = this.gpg(['--with-colons', '--list-keys']).toString();
    this.fingerprint = /^fpr:+([0-9A-F]+):/m.exec(listing)?.[1] ?? '';
  }

  gpg(args: string[], input?: Buffer): Buffer {
    return execFileSync('gpg', ['--homedir', this.dir, '--batch', '--yes', '--pinentry-mode', 'loopback', ...args], {
      input,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
  }

  /** gpg --detach-sign [--armor] of a file; returns the signature's path. */
  detachSign(file: string, armor: boolean): string {
    const out = `${file}${armor ? '.asc' : '.sig'}`;
    this.gpg(['--detach-sign', ...(armor ? ['--armor'] : []), '--output', out, file]);
    return out;
  }

  clearsign(file: string, out: string): string {
    this.gpg(['--clearsign', '--output', out, file]);
    return out;
  }

  /** The public key imported into a new keybox (what `gpg --no-default-keyring --keyring F --import` writes). */
  keyboxWithKey(path: string): string {
    const exported = this.gpg(['--export']);
    const home = mkdtempSync(join(tmpdir(), 'sureflash-kbx-'));
    try {
      execFileSync('gpg', ['--homedir', home, '--batch', '--no-default-keyring', '--keyring', path, '--import'], { input: exported, stdio: ['pipe', 'ignore', 'ignore'] });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
    return path;
  }

  exportBinary(path: string): string {
    writeFileSync(path, this.gpg(['--export']));
    return path;
  }

  exportArmored(path: string): string {
    writeFileSync(path, this.gpg(['--export', '--armor']));
    return path;
  }

  dispose(): void {
    spawnSync('gpgconf', ['--homedir', this.dir, '--kill', 'all'], { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
