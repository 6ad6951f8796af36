import { promises as fsp } from 'node:fs';
import { basename } from 'node:path';
import type { BmapInfo, ImageInfo } from '../../shared/api';
import { mappedBytes, type Bmap } from '../../shared/bmap';
import { parseBmapAsync, readBmapFile } from './bmap-parser';
import { diskSignature, NOT_A_DISK_WARNING } from './source/disk-signature';
import { EngineError } from './errors';
import { discoverBmap } from './source/discover-bmap';
import { openSource } from './source/open-source';
import type { DecoderPreference } from './source/types';

export interface ProbeOptions {
  /** Explicit bmap path; omitted = discover next to the image; null = write without a bmap. */
  bmapPath?: string | null;
  decoder?: DecoderPreference;
  /** Stops the bmap parse (CANCELLED). */
  signal?: AbortSignal;
}

export const NO_BMAP_WARNING = 'No bmap found: the whole image will be written';
export { NOT_A_DISK_WARNING };
export const NO_CHECKSUMS_WARNING = 'The bmap has no checksums: readback is still checked against hashes taken while writing';

/**
 * The probe in the calling thread (the probe worker runs this; main calls `probeImage` in probe.ts, which
 * runs it in a worker). What the app shows before flashing: the image's format and size, and the bmap found or given (parsed and
 * checked). Throws EngineError for what must stop the user: IMAGE_NOT_FOUND / IMAGE_UNREADABLE /
 * IMAGE_IS_BMAP, an archive problem, an invalid bmap (BMAP_*), or a bmap made for another image size
 * (IMAGE_SIZE_MISMATCH). Only the first 68 KiB of a compressed image are decoded (to find its partition table
 * or filesystem), and a compressed tar is listed up to its image member.
 */
export async function probeImageInThread(path: string, opts: ProbeOptions = {}): Promise<ImageInfo> {
  if (path === '-') throw new EngineError('USAGE', 'Standard input cannot be probed: pass the image file path.');
  // A compressed tar is only listed up to its image member here: the whole listing (one decoding pass)
  // is made when flashing starts, before anything is written.
  const source = await openSource(path, { decoder: opts.decoder ?? 'auto', compressedTar: 'first-image', ...(opts.signal ? { signal: opts.signal } : {}) });
  await source.close();
  const fileSize = source.fileSize ?? (await fsp.stat(path)).size;
  const warnings: string[] = [];
  const parseOptions = opts.signal ? { signal: opts.signal } : {};

  const bmapPath = opts.bmapPath === undefined ? await discoverBmap(path) : opts.bmapPath;
  let parsed: Bmap | null = null;
  let shownPath = bmapPath;
  if (bmapPath !== null) {
    parsed = await readBmapFile(bmapPath, parseOptions);
  } else if (opts.bmapPath === undefined && source.embeddedBmap) {
    // As the engine does: a single .bmap inside the archive is used when none is next to it.
    shownPath = `${path} (bmap inside the archive)`;
    parsed = await parseBmapAsync(source.embeddedBmap, shownPath, parseOptions);
  }
  let bmap: BmapInfo | null = null;
  if (parsed === null || shownPath === null) {
    warnings.push(NO_BMAP_WARNING);
  } else {
    if (source.imageSize !== null && source.imageSize !== parsed.imageSize) {
      throw new EngineError(
        'IMAGE_SIZE_MISMATCH',
        `The bmap ${shownPath} describes an image of ${parsed.imageSize} bytes, but ${path} holds ${source.imageSize} bytes: it was made for another image. Use the matching bmap.`,
      );
    }
    bmap = {
      path: shownPath,
      version: parsed.version,
      checksumType: parsed.checksumType,
      imageSize: parsed.imageSize,
      blockSize: parsed.blockSize,
      mappedBytes: mappedBytes(parsed),
      rangesCount: parsed.ranges.length,
    };
    if (parsed.checksumType === null) warnings.push(NO_CHECKSUMS_WARNING);
  }
  const signature = source.head ? diskSignature(source.head) : null;
  if (signature === null) warnings.push(NOT_A_DISK_WARNING);

  return {
    path,
    name: basename(path),
    fileSize,
    compression: source.compression,
    imageSize: source.imageSize ?? bmap?.imageSize ?? null,
    bmap,
    diskSignature: signature,
    member: source.member ?? null,
    warnings,
  };
}
