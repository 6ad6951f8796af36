import { basename } from 'node:path';
import type { BmapInfo, ImageInfo } from '../../shared/api';
import { mappedBytes } from '../../shared/bmap';
import { EngineError } from './errors';
import type { ImageAuthOptions, ImageCacheOptions } from './image-options';
import { openImage } from './open-image';
import type { HttpClientOptions } from './source/http/http-client';
import { isHttpUrl, urlFileName } from './source/http/url-parts';
import { diskSignature, NOT_A_DISK_WARNING } from './source/disk-signature';
import type { DecoderPreference } from './source/types';

export interface ProbeOptions {
  /** Explicit bmap path or URL; omitted = discover next to the image; null = write without a bmap. */
  bmapPath?: string | null;
  decoder?: DecoderPreference;
  auth?: ImageAuthOptions;
  /** With a cache, a URL image already kept there is probed from it (and its sha256 known at once). */
  cache?: ImageCacheOptions | null;
  /** Only in-thread (not sent to the probe worker): test hooks for the HTTP client and the environment. */
  http?: HttpClientOptions;
  env?: NodeJS.ProcessEnv;
  /** Stops the probe (CANCELLED). */
  signal?: AbortSignal;
}

export const NO_BMAP_WARNING = 'No bmap found: the whole image will be written';
export { NOT_A_DISK_WARNING };
export const NO_CHECKSUMS_WARNING = 'The bmap has no checksums: readback is still checked against hashes taken while writing';

/**
 * The probe in the calling thread (the probe worker runs this; main calls `probeImage` in probe.ts, which
 * runs it in a worker). What the app shows before flashing: the image's format and size (a file or an
 * http(s) URL), the bmap found or given (parsed and checked), its signature, the image's published sha256,
 * and the partition table or filesystem it starts with. Throws EngineError for what must stop the user:
 * IMAGE_NOT_FOUND / IMAGE_UNREADABLE / IMAGE_IS_BMAP, an archive problem, an invalid bmap (BMAP_*), a bmap
 * made for another image size (IMAGE_SIZE_MISMATCH), a download that fails (DOWNLOAD_*). An untrusted
 * signature or a checksum that does not match is reported in `signature` / `checksum` (the flash refuses
 * it). Only the first 68 KiB of a compressed file image are decoded; a compressed tar is listed up to its
 * image member.
 */
export async function probeImageInThread(path: string, opts: ProbeOptions = {}): Promise<ImageInfo> {
  if (path === '-') throw new EngineError('USAGE', 'Standard input cannot be probed: pass the image file path.');
  const auth = opts.auth ?? {};
  const opened = await openImage(path, {
    decoder: opts.decoder ?? 'auto',
    ...(opts.bmapPath !== undefined ? { bmap: opts.bmapPath } : {}),
    ...(auth.bmapSig ? { bmapSig: auth.bmapSig } : {}),
    ...(auth.keyring ? { keyring: auth.keyring } : {}),
    ...(auth.fingerprint ? { fingerprint: auth.fingerprint } : {}),
    ...(auth.sha256 ? { sha256: auth.sha256 } : {}),
    verifySignature: !auth.noSigVerify,
    refuseUntrusted: false,
    cache: opts.cache ?? null,
    compressedTar: 'first-image',
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.http ? { http: opts.http } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  });
  try {
    const { source, bmap: parsed, bmapPath } = opened;
    const warnings: string[] = [];
    let bmap: BmapInfo | null = null;
    if (!parsed || !bmapPath) {
      warnings.push(NO_BMAP_WARNING);
    } else {
      if (source.imageSize !== null && source.imageSize !== parsed.imageSize) {
        throw new EngineError(
          'IMAGE_SIZE_MISMATCH',
          `The bmap ${bmapPath} describes an image of ${parsed.imageSize} bytes, but ${opened.name} holds ${source.imageSize} bytes: it was made for another image. Use the matching bmap.`,
        );
      }
      bmap = {
        path: bmapPath,
        version: parsed.version,
        checksumType: parsed.checksumType,
        imageSize: parsed.imageSize,
        blockSize: parsed.blockSize,
        mappedBytes: mappedBytes(parsed),
        rangesCount: parsed.ranges.length,
      };
      if (parsed.checksumType === null) warnings.push(NO_CHECKSUMS_WARNING);
    }
    // A compressed image from a URL has no decoded head before downloading: no signature to judge yet.
    const head = source.compression === 'none' || opened.origin === 'file' ? (source.head ?? null) : null;
    const signature = head ? diskSignature(head) : null;
    if (head && signature === null) warnings.push(NOT_A_DISK_WARNING);
    const checksum = opened.checksum();
    if (checksum.status === 'pending') warnings.push('The published sha256 is checked while the image downloads: a mismatch fails the flash at its end');
    if (checksum.status === 'not-checked') warnings.push('A sha256 is published but only the mapped parts are downloaded: the bmap checksums prove them instead');
    return {
      path,
      name: isHttpUrl(path) ? urlFileName(path) : basename(path),
      fileSize: source.fileSize ?? 0,
      compression: source.compression,
      imageSize: source.imageSize ?? bmap?.imageSize ?? null,
      bmap,
      diskSignature: signature,
      member: source.member ?? null,
      warnings,
      source: opened.origin,
      signature: opened.signature,
      checksum,
    };
  } finally {
    await opened.close();
  }
}
