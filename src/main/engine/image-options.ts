/** How a job's image is authenticated and fetched: the CLI's options, or the app's settings. */

export interface ImageAuthOptions {
  /** --bmap-sig: a detached signature (path or URL) for the bmap. */
  bmapSig?: string;
  /** --keyring: public keys to check the bmap's signature against (default: gpgv's trustedkeys). */
  keyring?: string;
  /** --fingerprint: the key that must have signed the bmap. */
  fingerprint?: string;
  /** --no-sig-verify: no signature check (a clearsigned bmap is still read). */
  noSigVerify?: boolean;
  /** --sha256: the image file's published SHA-256 (hex), instead of IMAGE.sha256 / SHA256SUMS. */
  sha256?: string;
}

/** The download cache for URL images: where it lives and how much it may hold (null: no limit). */
export interface ImageCacheOptions {
  dir: string;
  limitBytes: number | null;
}
