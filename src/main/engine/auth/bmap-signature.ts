/**
 * OpenPGP signatures on bmaps, as bmaptool 3.9 checks them but in-process (openpgp.js, no gpg program):
 * a clearsigned bmap (its XML is the signed text, read even when checks are off) or a detached signature
 * (.asc, .sig, .gpg next to the bmap, or --bmap-sig), checked against a keyring, optionally pinned to one
 * key with --fingerprint. The result says valid / invalid / unknown-key / unsigned / not-checked and names
 * the key; `refuseUntrusted` turns what must stop a job into an error before anything is written.
 */
import type { Key } from 'openpgp';
import type { SignatureInfo } from '../../../shared/authenticity';
import { EngineError } from '../errors';
import type { Keyring } from './keyring';

const CLEARSIGN_MARKER = '-----BEGIN PGP SIGNED MESSAGE-----';

export interface SignatureInput {
  /** The bmap file's bytes as read (clearsigned or plain XML). */
  bmap: Buffer;
  /** How the bmap is named in messages. */
  bmapName: string;
  /** A detached signature and its name, when one was found or given. */
  detached: { bytes: Buffer; name: string } | null;
  keyring: Keyring;
  /** --fingerprint: the key that must have signed (spaces and case ignored). */
  fingerprint: string | null;
  /** False with --no-sig-verify: nothing is checked (a clearsigned bmap's XML is still extracted). */
  verify: boolean;
}

export interface SignatureResult {
  /** The bmap XML to parse: a clearsigned bmap's text, else the bytes as read. */
  xml: Buffer;
  info: SignatureInfo;
  /** Why it is not valid, in words (for refusals); null when valid or not applicable. */
  problem: string | null;
}

/** True when the bytes are a clearsigned message (bmaptool's test: the file starts with the marker). */
export function isClearsigned(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 64)).toString('latin1').trimStart().startsWith(CLEARSIGN_MARKER);
}

export function normaliseFingerprint(value: string): string {
  return value.replace(/\s+/g, '').replace(/^0x/i, '').toUpperCase();
}

function primaryUser(key: Key): string | undefined {
  const ids = key.getUserIDs();
  return ids.length > 0 ? ids[0] : undefined;
}

function describeKeyring(keyring: Keyring): string {
  return keyring.path ? `the keyring ${keyring.path}` : 'any keyring (no --keyring given, and gpgv\'s trustedkeys.kbx / trustedkeys.gpg does not exist)';
}

/** Checks the bmap's signature (never throws for a bad one: the status says it). */
export async function checkBmapSignature(input: SignatureInput): Promise<SignatureResult> {
  const clearsigned = isClearsigned(input.bmap);
  // openpgp.js is a large module (a few MB of the engine thread's heap once loaded): it is loaded only when
  // there is a signature to read.
  if (!clearsigned && (!input.verify || !input.detached)) {
    const source = input.detached?.name;
    return { xml: input.bmap, info: input.verify ? { status: 'unsigned' } : { status: 'not-checked', ...(source ? { source } : {}) }, problem: null };
  }
  const openpgp = await import('openpgp');
  let xml = input.bmap;
  let cleartext: Awaited<ReturnType<typeof openpgp.readCleartextMessage>> | null = null;
  if (clearsigned) {
    try {
      cleartext = await openpgp.readCleartextMessage({ cleartextMessage: input.bmap.toString('utf8') });
    } catch (err) {
      throw new EngineError('BMAP_INVALID', `The bmap file "${input.bmapName}" starts like a clearsigned message but cannot be read as one (${err instanceof Error ? err.message : String(err)}).`);
    }
    // The signed text ends without the line break before the signature block; gpg's output (what bmaptool
    // parses, and what the bmap's own checksum was computed over) ends each line with one, the last too.
    const text = cleartext.getText();
    xml = Buffer.from(text === '' || text.endsWith('\n') ? text : `${text}\n`, 'utf8');
  }
  const source = clearsigned ? 'clearsigned bmap' : input.detached?.name;
  if (!input.verify) return { xml, info: { status: 'not-checked', ...(source ? { source } : {}) }, problem: null };
  if (!clearsigned && !input.detached) return { xml, info: { status: 'unsigned' }, problem: null };

  let verification;
  try {
    if (cleartext) {
      verification = await openpgp.verify({ message: cleartext, verificationKeys: input.keyring.keys, expectSigned: false });
    } else {
      const detached = input.detached!;
      const text = detached.bytes.toString('latin1');
      const signature = text.includes('-----BEGIN PGP SIGNATURE-----')
        ? await openpgp.readSignature({ armoredSignature: text })
        : await openpgp.readSignature({ binarySignature: detached.bytes });
      const message = await openpgp.createMessage({ binary: new Uint8Array(input.bmap) });
      verification = await openpgp.verify({ message, signature, verificationKeys: input.keyring.keys, expectSigned: false, format: 'binary' });
    }
  } catch (err) {
    const problem = `${source} is not an OpenPGP signature Sureflash can read (${err instanceof Error ? err.message : String(err)})`;
    return { xml, info: { status: 'invalid', ...(source ? { source } : {}) }, problem };
  }
  return judge(xml, verification.signatures, input, source ?? 'signature');
}

interface Judged {
  fingerprint: string;
  keyFingerprints: string[];
  signer?: string;
  verdict: 'valid' | 'invalid' | 'unknown-key';
  detail: string;
}

async function judge(
  xml: Buffer,
  signatures: Array<{ keyID: { toHex(): string }; verified: Promise<true>; signature: Promise<{ packets: Array<{ issuerFingerprint?: Uint8Array | null }> }> }>,
  input: SignatureInput,
  source: string,
): Promise<SignatureResult> {
  if (signatures.length === 0) {
    return { xml, info: { status: 'invalid', source }, problem: `${source} holds no signature` };
  }
  const judged: Judged[] = [];
  for (const sig of signatures) {
    const keyId = sig.keyID.toHex().toUpperCase();
    const packet = (await sig.signature).packets[0];
    const issuer = packet?.issuerFingerprint ? Buffer.from(packet.issuerFingerprint).toString('hex').toUpperCase() : null;
    const key = input.keyring.keys.find((k) => k.getKeys(sig.keyID as Parameters<Key['getKeys']>[0]).length > 0);
    if (!key) {
      judged.push({ fingerprint: issuer ?? keyId, keyFingerprints: [issuer ?? keyId], verdict: 'unknown-key', detail: 'not in the keyring' });
      continue;
    }
    const subkey = key.getKeys(sig.keyID as Parameters<Key['getKeys']>[0])[0];
    const primary = key.getFingerprint().toUpperCase();
    const fingerprints = [primary, ...(subkey ? [subkey.getFingerprint().toUpperCase()] : [])];
    const signer = primaryUser(key);
    try {
      await sig.verified;
      judged.push({ fingerprint: primary, keyFingerprints: fingerprints, ...(signer ? { signer } : {}), verdict: 'valid', detail: '' });
    } catch (err) {
      judged.push({ fingerprint: primary, keyFingerprints: fingerprints, ...(signer ? { signer } : {}), verdict: 'invalid', detail: err instanceof Error ? err.message : String(err) });
    }
  }
  const named = (j: Judged): string => `${j.signer ? `${j.signer}, ` : ''}key ${j.fingerprint}`;
  const invalid = judged.find((j) => j.verdict === 'invalid');
  if (invalid) {
    return {
      xml,
      info: { status: 'invalid', fingerprint: invalid.fingerprint, ...(invalid.signer ? { signer: invalid.signer } : {}), source },
      problem: `the signature (${source}) by ${named(invalid)} does not match the bmap: ${invalid.detail}`,
    };
  }
  const wanted = input.fingerprint ? normaliseFingerprint(input.fingerprint) : null;
  const valid = judged.filter((j) => j.verdict === 'valid' && (!wanted || j.keyFingerprints.includes(wanted)));
  const chosen = valid[0];
  if (chosen) {
    return { xml, info: { status: 'valid', fingerprint: chosen.fingerprint, ...(chosen.signer ? { signer: chosen.signer } : {}), source }, problem: null };
  }
  const first = judged[0]!;
  const problem = wanted && judged.some((j) => j.verdict === 'valid')
    ? `the bmap is signed by ${judged.filter((j) => j.verdict === 'valid').map(named).join(', ')}, not by ${wanted} as --fingerprint asks`
    : `the bmap is signed by key ${judged.map((j) => j.fingerprint).join(', ')}, which is not in ${describeKeyring(input.keyring)}`;
  return { xml, info: { status: 'unknown-key', fingerprint: first.fingerprint, ...(first.signer ? { signer: first.signer } : {}), source }, problem };
}

/**
 * Stops a job whose bmap must not be trusted: an invalid signature (SIGNATURE_INVALID), one by a key that
 * is not in the keyring or not the --fingerprint one (SIGNATURE_UNKNOWN_KEY), or no signature although
 * --keyring / --fingerprint ask for one (SIGNATURE_MISSING), as bmaptool 3.9 refuses it.
 */
export function refuseUntrusted(result: SignatureResult, bmapName: string, asked: { keyring: boolean; fingerprint: boolean }): void {
  const { status } = result.info;
  if (status === 'invalid') {
    throw new EngineError('SIGNATURE_INVALID', `The bmap ${bmapName} failed its signature check: ${result.problem ?? 'invalid signature'}. Nothing was written.`);
  }
  if (status === 'unknown-key') {
    throw new EngineError('SIGNATURE_UNKNOWN_KEY', `The bmap ${bmapName} cannot be trusted: ${result.problem ?? 'unknown key'}. Nothing was written. Give the publisher's public key with --keyring FILE, or use --no-sig-verify.`);
  }
  if (status === 'unsigned' && (asked.keyring || asked.fingerprint)) {
    const option = asked.fingerprint ? '--fingerprint' : '--keyring';
    throw new EngineError('SIGNATURE_MISSING', `${option} was given but the bmap ${bmapName} has no signature (clearsigned, or ${bmapName}.asc / .sig / .gpg, or --bmap-sig FILE). Nothing was written.`);
  }
}
