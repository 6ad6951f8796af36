/**
 * Whole small files from a URL (a bmap, its signature, a checksum file): one GET, size-capped, transient
 * failures retried with back-off. For discovery ("is there an os.img.bmap next to it?") a 4xx answer means
 * "not there"; a server error or a broken connection is an error, never "not there": a signature that
 * could not be fetched must not turn into "unsigned".
 */
import { EngineError } from '../../errors';
import type { DownloadMeter } from './download-meter';
import { discard, type HttpClient } from './http-client';
import { DownloadError, networkError, statusError, whereText } from './http-errors';

export interface FetchSmallOptions {
  client: HttpClient;
  /** Largest body accepted. */
  maxBytes: number;
  /** True: a 4xx answer resolves to null (discovery). False: it is an error naming the URL and status. */
  optional: boolean;
  meter?: DownloadMeter;
  signal?: AbortSignal;
  retries?: number;
  backoffMs?: number;
}

/** The body of `url`, or null when `optional` and the server has nothing there. */
export async function fetchSmall(url: string, options: FetchSmallOptions): Promise<Buffer | null> {
  const retries = options.retries ?? Number(process.env.SUREFLASH_HTTP_RETRIES ?? 5);
  const backoff = options.backoffMs ?? Number(process.env.SUREFLASH_HTTP_BACKOFF_MS ?? 500);
  for (let failures = 0; ; failures++) {
    try {
      return await fetchOnce(url, options);
    } catch (err) {
      if (options.signal?.aborted) throw new EngineError('CANCELLED', 'Cancelled while downloading.');
      if (err instanceof EngineError && !(err instanceof DownloadError)) throw err;
      const error = networkError(err, url);
      if (!error.transient || failures >= retries) {
        throw failures > 0 && error.transient ? new DownloadError(error.code, `${error.message} (gave up after ${failures + 1} attempts)`, false, error.status) : error;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(8000, backoff * 2 ** failures)));
    }
  }
}

async function fetchOnce(url: string, options: FetchSmallOptions): Promise<Buffer | null> {
  let res;
  try {
    res = await options.client.send(url, options.signal ? { signal: options.signal } : {});
  } catch (err) {
    if (options.optional && err instanceof DownloadError && (err.code === 'DOWNLOAD_DENIED' || err.code === 'DOWNLOAD_NOT_FOUND')) return null;
    throw err;
  }
  const finalUrl = res.redirects.length > 0 ? res.url : undefined;
  if (res.status !== 200) {
    discard(res.body);
    if (options.optional && res.status >= 400 && res.status < 500) return null;
    throw statusError(res.status, url, finalUrl, null);
  }
  const parts: Buffer[] = [];
  let got = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      got += chunk.length;
      options.meter?.add(chunk.length);
      if (got > options.maxBytes) {
        throw new DownloadError('DOWNLOAD_FAILED', `${whereText(url, finalUrl)} is larger than ${options.maxBytes} bytes: not a bmap, signature or checksum file`, false, 200);
      }
      parts.push(chunk);
    }
  } finally {
    discard(res.body);
  }
  const length = res.headers['content-length'];
  if (length !== undefined && Number(length) !== got) {
    throw networkError(new Error(`the response ended after ${got} of ${length} bytes`), url, finalUrl);
  }
  return Buffer.concat(parts);
}
