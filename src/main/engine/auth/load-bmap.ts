/**
 * Finds, fetches and authenticates an image's bmap before anything is written, for files and URLs alike:
 * given (--bmap PATH|URL) or discovered next to the image as bmaptool does (os.img.xz.bmap, os.img.bmap,
 * os.bmap), its signature clearsigned inside it or detached beside it (.asc, .sig, .gpg) or given with
 * --bmap-sig, checked against the keyring, then parsed. An untrusted signature stops here.
 */
import type { SignatureInfo } from '../../../shared/authenticity';
import type { Bmap } from '../../../shared/bmap';
import { parseBmapAsync } from '../bmap-parser';
import { EngineError } from '../errors';
import { bmapCandidates } from '../source/discover-bmap';
import { isHttpUrl, urlBmapCandidates, withPathSuffix } from '../source/http/url-parts';
import { checkBmapSignature, isClearsigned, refuseUntrusted } from './bmap-signature';
import { loadKeyring } from './keyring';
import { MAX_SIDE_FILE_BYTES, type SideFileReader } from './side-files';

export interface BmapChoice {
  /** Explicit bmap (path or URL); null: write without one (--nobmap); absent: discover next to the image. */
  bmap?: string | null;
  /** Explicit detached signature (path or URL). */
  bmapSig?: string | null;
  keyring?: string | null;
  fingerprint?: string | null;
  /** False with --no-sig-verify. */
  verifySignature: boolean;
  /** False for a probe: an untrusted signature is reported in the status instead of refused. */
  refuseUntrusted?: boolean;
  /** Stops a long bmap parse (CANCELLED). */
  signal?: AbortSignal;
}

export interface LoadedBmap {
  bmap: Bmap | null;
  /** How the bmap is named (path, display URL, or "IMAGE (bmap inside the archive)"). */
  bmapPath: string | null;
  signature: SignatureInfo;
}

/** Detached signature names next to a bmap, in the order they are tried. */
export const SIGNATURE_SUFFIXES = ['.asc', '.sig', '.gpg'] as const;

function signatureCandidates(bmapLocation: string): string[] {
  return SIGNATURE_SUFFIXES.map((ext) => (isHttpUrl(bmapLocation) ? withPathSuffix(bmapLocation, ext) : `${bmapLocation}${ext}`));
}

async function locateBmap(image: string, choice: BmapChoice, reader: SideFileReader): Promise<{ bytes: Buffer; location: string } | null> {
  if (choice.bmap === null) return null;
  if (choice.bmap !== undefined) {
    const bytes = await reader.read(choice.bmap, { optional: false, what: 'bmap' });
    return bytes ? { bytes, location: choice.bmap } : null;
  }
  if (image === '-') return null;
  const candidates = isHttpUrl(image) ? urlBmapCandidates(image) : bmapCandidates(image);
  for (const location of candidates) {
    const bytes = await reader.read(location, { optional: true, what: 'bmap' });
    if (bytes) return { bytes, location };
  }
  return null;
}

/**
 * The bmap for `image` with its signature checked. `embedded` is a bmap found inside a zip archive, used
 * when none is given or found beside the image. Throws BMAP_*, SIGNATURE_*, DOWNLOAD_* before any write.
 */
export async function loadAuthenticBmap(
  image: string,
  choice: BmapChoice,
  reader: SideFileReader,
  embedded: { bytes: Buffer; name: string } | null,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedBmap> {
  const located = await locateBmap(image, choice, reader);
  const found = located
    ? { bytes: located.bytes, name: reader.show(located.location), location: located.location as string | null }
    : choice.bmap === null || !embedded
      ? null
      : { bytes: embedded.bytes, name: embedded.name, location: null };
  const asked = { keyring: Boolean(choice.keyring), fingerprint: Boolean(choice.fingerprint) };
  if (!found) {
    if (choice.bmapSig) throw new EngineError('USAGE', `--bmap-sig ${choice.bmapSig} was given, but there is no bmap to check it against.`);
    if (choice.verifySignature && choice.refuseUntrusted !== false && (asked.keyring || asked.fingerprint)) {
      throw new EngineError('SIGNATURE_MISSING', `${asked.fingerprint ? '--fingerprint' : '--keyring'} was given, but no bmap was found for ${reader.show(image)}, so there is nothing signed to check. Nothing was written.`);
    }
    return { bmap: null, bmapPath: null, signature: { status: 'not-checked' } };
  }
  let detached: { bytes: Buffer; name: string } | null = null;
  if (choice.verifySignature && !isClearsigned(found.bytes)) {
    if (choice.bmapSig) {
      const bytes = await reader.read(choice.bmapSig, { optional: false, maxBytes: MAX_SIDE_FILE_BYTES, what: 'signature' });
      if (bytes) detached = { bytes, name: reader.show(choice.bmapSig) };
    } else if (found.location) {
      for (const candidate of signatureCandidates(found.location)) {
        const bytes = await reader.read(candidate, { optional: true, maxBytes: MAX_SIDE_FILE_BYTES, what: 'signature' });
        if (bytes) {
          detached = { bytes, name: reader.show(candidate) };
          break;
        }
      }
    }
  }
  const needsKeys = choice.verifySignature && (detached !== null || isClearsigned(found.bytes));
  const keyring = needsKeys ? await loadKeyring(choice.keyring ?? null, env) : { path: null, keys: [] };
  const result = await checkBmapSignature({
    bmap: found.bytes,
    bmapName: found.name,
    detached,
    keyring,
    fingerprint: choice.fingerprint ?? null,
    verify: choice.verifySignature,
  });
  if (choice.refuseUntrusted !== false) refuseUntrusted(result, found.name, asked);
  return { bmap: await parseBmapAsync(result.xml, found.name, choice.signal ? { signal: choice.signal } : {}), bmapPath: found.name, signature: result.info };
}
