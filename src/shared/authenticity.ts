/**
 * What Sureflash knows about an image's authenticity, shown in the image step and carried in the report:
 * the bmap's OpenPGP signature and the image's published sha256. Where the image came from too.
 */

/** Where the image is read from. */
export type ImageOrigin = 'file' | 'url';

/**
 * The bmap's signature. `valid`: made by a key in the keyring (and the one --fingerprint names); `invalid`:
 * it does not match the bmap; `unknown-key`: made by a key that is not in the keyring; `unsigned`: no
 * signature found; `not-checked`: signature checks turned off (--no-sig-verify), or there is no bmap.
 */
export interface SignatureInfo {
  status: 'valid' | 'invalid' | 'unknown-key' | 'unsigned' | 'not-checked';
  /** The signer's user id ("Name <mail>") when the key is known. */
  signer?: string;
  /** Fingerprint (upper-case hex) of the signing key, or its key id when only that is known. */
  fingerprint?: string;
  /** Where the signature was: "clearsigned bmap", or the signature file's name or URL. */
  source?: string;
}

/**
 * The whole image file's sha256 against a published one. `matches` / `mismatch`: checked; `pending`: known
 * only once the image has streamed through (a download); `none`: no published sha256 found; `not-checked`:
 * one was published but cannot be checked here (only the mapped parts of a raw image are downloaded: the
 * bmap's checksums prove those instead).
 */
export interface ChecksumInfo {
  kind: 'sha256';
  status: 'matches' | 'mismatch' | 'pending' | 'none' | 'not-checked';
  /** Where the expected value came from: "--sha256", "os.img.xz.sha256", "SHA256SUMS", or their URLs. */
  source?: string;
}

/** True when a signature status lets a job go on (the caller has already refused the others). */
export function signatureAllowsFlash(info: SignatureInfo): boolean {
  return info.status === 'valid' || info.status === 'unsigned' || info.status === 'not-checked';
}

/** Plain words for the image step and the final screen. */
export function describeSignature(info: SignatureInfo): string {
  switch (info.status) {
    case 'valid':
      return `Signed by ${info.signer ?? info.fingerprint ?? 'a trusted key'}`;
    case 'invalid':
      return `The bmap's signature is invalid${info.fingerprint ? ` (key ${info.fingerprint})` : ''}`;
    case 'unknown-key':
      return `Signed by a key that is not trusted here${info.fingerprint ? ` (${info.fingerprint})` : ''}`;
    case 'unsigned':
      return 'The bmap is not signed';
    case 'not-checked':
      return 'Signature not checked';
  }
}

export function describeChecksum(info: ChecksumInfo): string {
  switch (info.status) {
    case 'matches':
      return 'Checksum matches';
    case 'mismatch':
      return 'Checksum does NOT match: do not use this image';
    case 'pending':
      return 'Checksum checked as the image downloads';
    case 'none':
      return 'No published checksum';
    case 'not-checked':
      return 'Published checksum not checkable (only the mapped parts are downloaded; the bmap checksums prove them)';
  }
}
