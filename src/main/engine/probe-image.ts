import { promises as fsp } from 'node:fs';
import { basename } from 'node:path';
import type { BmapInfo, ImageInfo } from '../../shared/api';
import { mappedBytes } from '../../shared/bmap';
import { readBmapFile } from './bmap-parser';
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
export const NO_CHECKSUMS_WARNING = 'The bmap has no checksums: readback is still checked against hashes taken while writing';

/**
 * The probe in the calling thread (the probe worker runs this; main calls `probeImage` in probe.ts, which
 * runs it in a worker). What the app shows before flashing: the image's format and size, and the bmap found or given (parsed and
 * checked). Throws EngineError for what must stop the user: IMAGE_NOT_FOUND / IMAGE_UNREADABLE /
 * IMAGE_IS_BMAP, an archive problem, an invalid bmap (BMAP_*), or a bmap made for another image size
 * (IMAGE_SIZE_MISMATCH). Nothing is decompressed.
 */
export async function probeImageInThread(path: string, opts: ProbeOptions = {}): Promise<ImageInfo> {
  if (path === '-') throw new EngineError('USAGE', 'Standard input cannot be probed: pass the image file path.');
  const source = await openSource(path, { decoder: opts.decoder ?? 'auto' });
  await source.close();
  const fileSize = source.fileSize ?? (await fsp.stat(path)).size;
  const warnings: string[] = [];

  const bmapPath = opts.bmapPath === undefined ? await discoverBmap(path) : opts.bmapPath;
  let bmap: BmapInfo | null = null;
  if (bmapPath === null) {
    warnings.push(NO_BMAP_WARNING);
  } else {
    const parsed = await readBmapFile(bmapPath, opts.signal ? { signal: opts.signal } : {});
    if (source.imageSize !== null && source.imageSize !== parsed.imageSize) {
      throw new EngineError(
        'IMAGE_SIZE_MISMATCH',
        `The bmap ${bmapPath} describes an image of ${parsed.imageSize} bytes, but ${path} holds ${source.imageSize} bytes: it was made for another image. Use the matching bmap.`,
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

  return {
    path,
    name: basename(path),
    fileSize,
    compression: source.compression,
    imageSize: source.imageSize ?? bmap?.imageSize ?? null,
    bmap,
    warnings,
  };
}
