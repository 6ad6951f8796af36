/**
 * Opens the image of a job, from a file or a URL, with everything that must hold before the first write:
 * the bmap found or given and its signature checked, the published sha256 found (and, where it can be
 * known now, checked), a download served from the cache when it holds a verified copy. Files keep using
 * openSource; URLs go through RemoteFile and the URL source (mapped-only range fetches for a raw image with
 * a bmap, a resumable stream otherwise).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ChecksumInfo, ImageOrigin, SignatureInfo } from '../../shared/authenticity';
import type { Bmap } from '../../shared/bmap';
import { mappedBytes, rangeBytes } from '../../shared/bmap';
import { DownloadCache } from './cache/download-cache';
import { loadAuthenticBmap, type BmapChoice } from './auth/load-bmap';
import { findSha256, type ExpectedSha256, type SidecarLocation } from './auth/sha256-sidecar';
import { MAX_SIDE_FILE_BYTES, sideFileReader } from './auth/side-files';
import { looksLikeBmap } from './bmap-parser';
import { detectFormat } from './source/detect';
import { openRemoteZip } from './source/http/remote-zip';
import { EngineError } from './errors';
import { openSource } from './source/open-source';
import { DownloadMeter } from './source/http/download-meter';
import { HttpClient, type HttpClientOptions } from './source/http/http-client';
import { RemoteFile } from './source/http/remote-file';
import { displayUrl, isHttpUrl, siblingUrl, urlFileName, withPathSuffix } from './source/http/url-parts';
import { openUrlSource, type PassSink } from './source/http/url-source';
import type { DecoderPreference, ImageSource } from './source/types';

export interface OpenImageOptions extends BmapChoice {
  decoder: DecoderPreference;
  /** --sha256 HEX. */
  sha256?: string | null;
  /** The download cache (off when absent or null). */
  cache?: { dir: string; limitBytes: number | null } | null;
  /** Aborts downloads at once (the job's cancel). */
  signal?: AbortSignal;
  log?(level: 'info' | 'warn', message: string): void;
  http?: HttpClientOptions;
  /** Stream for "-" (tests). */
  stdin?: Readable;
  /** A compressed tar is listed only up to its image member (the probe); the engine lists it whole. */
  compressedTar?: 'full' | 'first-image';
  env?: NodeJS.ProcessEnv;
}

export interface OpenedImage {
  source: ImageSource;
  origin: ImageOrigin;
  /** The image as named in messages and the report: the path, or the URL without credentials. */
  name: string;
  bmap: Bmap | null;
  bmapPath: string | null;
  signature: SignatureInfo;
  /** The published sha256 and where its check stands (it may move from pending to matches at the end). */
  checksum(): ChecksumInfo;
  /** Bytes downloaded and their rate, for URL images (null for files). */
  download: DownloadMeter | null;
  /** The cached file read instead of downloading, when the cache held the image. */
  cachedFile: string | null;
  close(): Promise<void>;
}

async function hashLocalFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function mismatch(name: string, expected: ExpectedSha256, actual: string, when: string): EngineError {
  return new EngineError(
    'CHECKSUM_MISMATCH',
    `${name} does not match its published sha256 (${expected.source}): it is ${actual}, expected ${expected.hex}. ${when}`,
  );
}

function sidecars(image: string, reader: ReturnType<typeof sideFileReader>): SidecarLocation | null {
  if (image === '-') return null;
  const url = isHttpUrl(image);
  return {
    sidecar: url ? withPathSuffix(image, '.sha256') : `${image}.sha256`,
    sums: url ? siblingUrl(image, 'SHA256SUMS') : join(dirname(image), 'SHA256SUMS'),
    name: url ? urlFileName(image) : basename(image),
    show: reader.show,
    read: async (location) => (await reader.read(location, { optional: true, maxBytes: MAX_SIDE_FILE_BYTES, what: 'checksum' }))?.toString('utf8') ?? null,
  };
}

/** Byte spans of the bmap's mapped ranges. */
function mappedSpans(bmap: Bmap): Array<{ start: number; end: number }> {
  return bmap.ranges.map((r) => ({ start: r.first * bmap.blockSize, end: r.first * bmap.blockSize + rangeBytes(r, bmap.blockSize, bmap.imageSize) }));
}

/**
 * Opens `image` (a path, "-" or an http(s) URL). Throws EngineError for anything that must stop the job
 * before writing: image or bmap problems, an untrusted signature, a sha256 that does not match (files and
 * cached downloads), download failures of the first requests.
 */
export async function openImage(image: string, options: OpenImageOptions): Promise<OpenedImage> {
  return isHttpUrl(image) ? openUrlImage(image, options) : openFileImage(image, options);
}

async function openFileImage(image: string, options: OpenImageOptions): Promise<OpenedImage> {
  // A file image may still have its bmap, signature or checksum at a URL: a client only when one is used.
  const lazy: { client: HttpClient | null } = { client: null };
  const http = (): HttpClient => (lazy.client ??= new HttpClient(options.http));
  const reader = sideFileReader(http, undefined, options.signal);
  const source = await openSource(image, {
    decoder: options.decoder,
    ...(options.stdin ? { stdin: options.stdin } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.compressedTar ? { compressedTar: options.compressedTar } : {}),
  });
  try {
    const embedded = source.embeddedBmap ? { bytes: source.embeddedBmap, name: `${image} (bmap inside the archive)` } : null;
    const loaded = await loadAuthenticBmap(image, options, reader, embedded, options.env);
    const expected = await findSha256(options.sha256 ?? null, sidecars(image, reader));
    let checksum: ChecksumInfo = { kind: 'sha256', status: 'none' };
    if (expected && image === '-') {
      options.log?.('warn', 'a sha256 cannot be checked for standard input: pass the image file');
      checksum = { kind: 'sha256', status: 'not-checked', source: expected.source };
    } else if (expected) {
      // A file can be hashed now, so a mismatch stops the job before anything is written.
      const actual = await hashLocalFile(image);
      const matches = actual === expected.hex;
      if (!matches && options.refuseUntrusted !== false) throw mismatch(image, expected, actual, 'Nothing was written.');
      checksum = { kind: 'sha256', status: matches ? 'matches' : 'mismatch', source: expected.source };
      options.log?.('info', `sha256 of ${image} matches ${expected.source}`);
    }
    await lazy.client?.close();
    return { source, origin: 'file', name: image, ...loaded, checksum: () => checksum, download: null, cachedFile: null, close: () => source.close() };
  } catch (err) {
    await source.close();
    await lazy.client?.close();
    throw err;
  }
}

async function openUrlImage(image: string, options: OpenImageOptions): Promise<OpenedImage> {
  const client = new HttpClient(options.http);
  const meter = new DownloadMeter();
  const log = options.log ?? (() => undefined);
  const name = displayUrl(image);
  const reader = sideFileReader(() => client, meter, options.signal);
  let source: ImageSource | null = null;
  try {
    const remote = await RemoteFile.open(image, { client, meter, log, ...(options.signal ? { signal: options.signal } : {}) });
    if (looksLikeBmap(remote.head)) {
      throw new EngineError('IMAGE_IS_BMAP', `${name} is a bmap file, not an image: pass the image and give the bmap with --bmap.`);
    }
    const zip = detectFormat(remote.head) === 'zip' ? await openRemoteZip(remote) : null;
    const embedded = zip?.embeddedBmap ? { bytes: zip.embeddedBmap, name: `${name} (bmap inside the archive)` } : null;
    let loaded;
    try {
      loaded = await loadAuthenticBmap(image, options, reader, embedded, options.env);
    } catch (err) {
      zip?.close();
      throw err;
    }
    const expected = await findSha256(options.sha256 ?? null, sidecars(image, reader));
    const validator = remote.etag && !remote.etag.startsWith('W/') ? remote.etag : remote.lastModified;
    const cache = options.cache ? new DownloadCache(options.cache.dir, options.cache.limitBytes, log) : null;
    if (cache && validator && remote.size !== null && !zip) {
      const hit = await cache.lookup(image, validator, remote.size);
      if (hit) {
        if (expected && hit.sha256 !== expected.hex && options.refuseUntrusted !== false) {
          throw mismatch(name, expected, hit.sha256, 'Nothing was written (checked on the cached copy).');
        }
        log('info', `${name}: using the cached copy (sha256 ${hit.sha256.slice(0, 16)}…, checked just now)`);
        const local = await openSource(hit.file, { decoder: options.decoder, ...(options.signal ? { signal: options.signal } : {}) });
        source = { ...local, path: name };
        const status = !expected ? 'none' : hit.sha256 === expected.hex ? 'matches' : 'mismatch';
        const checksum: ChecksumInfo = expected ? { kind: 'sha256', status, source: expected.source } : { kind: 'sha256', status: 'none' };
        await client.close();
        return { source, origin: 'url', name, ...loaded, checksum: () => checksum, download: meter, cachedFile: hit.file, close: () => local.close() };
      }
    } else if (cache && !zip) {
      log('warn', `${name}: the server gives no ETag or Last-Modified (or no size), so the download cannot be cached`);
    }
    if (cache && zip) log('info', `${name}: a zip archive is read by its parts, so it is not kept in the cache`);
    const sink = cache && validator && !zip ? (): Promise<PassSink | null> => cache.begin(image, validator, remote.size) : null;
    const opened = await openUrlSource(remote, {
      decoder: options.decoder,
      spans: loaded.bmap ? mappedSpans(loaded.bmap) : null,
      sha256: expected,
      sink,
      zip,
    });
    source = opened;
    if (opened.plannedBytes !== null && loaded.bmap) {
      log('info', `${name}: fetching only the mapped ranges (${opened.plannedBytes} bytes for ${mappedBytes(loaded.bmap)} mapped)`);
      if (expected) log('warn', `the sha256 from ${expected.source} cannot be checked: only the mapped ranges are downloaded; the bmap's checksums prove them`);
    }
    return {
      source: opened,
      origin: 'url',
      name,
      ...loaded,
      checksum: opened.checksum,
      download: meter,
      cachedFile: null,
      close: async () => {
        await opened.close();
        await client.close();
      },
    };
  } catch (err) {
    await source?.close();
    await client.close();
    throw err;
  }
}
