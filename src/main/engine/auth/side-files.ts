/**
 * Small files that travel with an image — its bmap, the bmap's signature, checksum files — read from a
 * path or a URL alike. Discovery asks "is it there?" (a missing file is null); an explicit name must exist.
 */
import { promises as fsp } from 'node:fs';
import { MAX_BMAP_BYTES } from '../bmap-parser';
import { EngineError } from '../errors';
import { nonRegularKind } from '../source/file-kind';
import type { DownloadMeter } from '../source/http/download-meter';
import { fetchSmall } from '../source/http/fetch-small';
import type { HttpClient } from '../source/http/http-client';
import { displayUrl, isHttpUrl } from '../source/http/url-parts';

/** Largest signature or checksum file read. */
export const MAX_SIDE_FILE_BYTES = 1024 * 1024;

export interface SideFileReader {
  /** The file's bytes; null when `optional` and it does not exist. */
  read(location: string, options: { optional: boolean; maxBytes?: number; what: string }): Promise<Buffer | null>;
  /** How a location is named in messages and reports. */
  show(location: string): string;
}

export function sideFileReader(http: () => HttpClient, meter?: DownloadMeter, signal?: AbortSignal): SideFileReader {
  return {
    show: (location) => (isHttpUrl(location) ? displayUrl(location) : location),
    read: async (location, { optional, maxBytes = MAX_BMAP_BYTES, what }) => {
      if (isHttpUrl(location)) {
        try {
          return await fetchSmall(location, { client: http(), maxBytes, optional, ...(meter ? { meter } : {}), ...(signal ? { signal } : {}) });
        } catch (err) {
          if (err instanceof EngineError && err.code === 'DOWNLOAD_NOT_FOUND' && what === 'bmap') {
            throw new EngineError('BMAP_NOT_FOUND', `The bmap ${displayUrl(location)} does not exist (${err.message.replace(/^.*: /, '')}).`);
          }
          throw err;
        }
      }
      try {
        const stat = await fsp.stat(location);
        const kind = nonRegularKind(stat);
        if (kind !== null) {
          if (optional) return null;
          throw new EngineError(what === 'bmap' ? 'BMAP_INVALID' : 'USAGE', `The ${what} file "${location}" is invalid: it is ${kind}, not a regular file.`);
        }
        if (stat.size > maxBytes) {
          // Refused by its size, never read (a huge or sparse file given by mistake).
          throw new EngineError(what === 'bmap' ? 'BMAP_INVALID' : 'USAGE', `The ${what} file "${location}" is invalid: it is ${stat.size} bytes; a ${what} may be at most ${maxBytes} bytes.`);
        }
        return await fsp.readFile(location);
      } catch (err) {
        if (err instanceof EngineError) throw err;
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') {
          if (optional) return null;
          throw new EngineError(what === 'bmap' ? 'BMAP_NOT_FOUND' : 'USAGE', `The ${what} file "${location}" does not exist.`);
        }
        if (code === 'EACCES' || code === 'EPERM') throw new EngineError('PERMISSION_DENIED', `The ${what} file "${location}" cannot be read: permission denied.`);
        throw new EngineError('USAGE', `The ${what} file "${location}" cannot be read (${err instanceof Error ? err.message : String(err)}).`);
      }
    },
  };
}
