/**
 * OpenPGP public keys to check bmap signatures against, read in-process (no gpg program): an armored file
 * (one or several key blocks), binary key packets (gpg --export, a legacy pubring.gpg or trustedkeys.gpg)
 * or a GnuPG keybox (pubring.kbx / trustedkeys.kbx, what `gpg --no-default-keyring --keyring FILE
 * --import` writes). Without --keyring the keys are gpgv's: GNUPGHOME (or ~/.gnupg) trustedkeys.kbx, else
 * trustedkeys.gpg, the keys a user has set apart for verifying signatures.
 */
import { existsSync, promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Key } from 'openpgp';
import { EngineError } from '../errors';

export interface Keyring {
  /** Where the keys came from (for messages); null when no keyring file exists. */
  path: string | null;
  keys: Key[];
}

/** gpgv's default keyring: GNUPGHOME or ~/.gnupg, trustedkeys.kbx before trustedkeys.gpg; null when neither exists. */
export function defaultKeyringPath(env: NodeJS.ProcessEnv = process.env): string | null {
  const home = env.GNUPGHOME && env.GNUPGHOME !== '' ? env.GNUPGHOME : join(homedir(), '.gnupg');
  for (const name of ['trustedkeys.kbx', 'trustedkeys.gpg']) {
    const path = join(home, name);
    if (existsSync(path)) return path;
  }
  return null;
}

/** The OpenPGP key blocks inside a GnuPG keybox file (blob type 2); other blobs (header, X.509) skipped. */
export function keyboxKeyblocks(data: Uint8Array): Uint8Array[] {
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const blocks: Uint8Array[] = [];
  let at = 0;
  while (at + 16 <= view.length) {
    const length = view.readUInt32BE(at);
    if (length < 5 || at + length > view.length) throw new Error(`damaged keybox blob at byte ${at}`);
    const type = view[at + 4];
    if (type === 2) {
      const offset = view.readUInt32BE(at + 8);
      const size = view.readUInt32BE(at + 12);
      if (offset + size > length) throw new Error(`damaged keybox key block at byte ${at}`);
      blocks.push(view.subarray(at + offset, at + offset + size));
    }
    at += length;
  }
  return blocks;
}

/** True when the bytes start like a keybox (its header blob carries "KBXf" at byte 8). */
export function isKeybox(data: Uint8Array): boolean {
  return data.length >= 12 && data[4] === 1 && Buffer.from(data.subarray(8, 12)).toString('latin1') === 'KBXf';
}

/** Reads every public key in a keyring file of any of the three forms. Throws USAGE naming the file. */
export async function readKeyringFile(path: string): Promise<Keyring> {
  let data: Buffer;
  try {
    data = await fsp.readFile(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new EngineError('USAGE', `Cannot read the keyring ${path}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(err))}.`);
  }
  try {
    return { path, keys: await parseKeys(data) };
  } catch (err) {
    throw new EngineError('USAGE', `The keyring ${path} holds no readable OpenPGP public keys (${err instanceof Error ? err.message : String(err)}).`);
  }
}

async function parseKeys(data: Buffer): Promise<Key[]> {
  const openpgp = await import('openpgp');
  const text = data.toString('latin1');
  if (text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
    const blocks = text.match(/-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g) ?? [];
    const keys = await Promise.all(blocks.map((armoredKeys) => openpgp.readKeys({ armoredKeys })));
    return keys.flat();
  }
  if (isKeybox(data)) {
    const keys = await Promise.all(keyboxKeyblocks(data).map((binaryKeys) => openpgp.readKeys({ binaryKeys })));
    return keys.flat();
  }
  return openpgp.readKeys({ binaryKeys: data });
}

/** The keyring for a job: --keyring FILE when given, else gpgv's default one (empty when it does not exist). */
export async function loadKeyring(explicit: string | null, env: NodeJS.ProcessEnv = process.env): Promise<Keyring> {
  if (explicit) return readKeyringFile(explicit);
  const path = defaultKeyringPath(env);
  if (!path) return { path: null, keys: [] };
  return readKeyringFile(path);
}
