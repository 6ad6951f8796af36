/**
 * A file on an HTTP(S) server, read like a file: its first bytes and size from one small range request,
 * then any span of it as a stream. A stream that breaks off (connection dropped, stall, 5xx) resumes with a
 * Range request from the last byte it delivered, with bounded retries and back-off; a server without
 * range support is refused then, never silently restarted (that would rewrite the card from the start).
 * Every response after the first is held to the first one's ETag / Last-Modified and size (If-Range plus a
 * comparison), so content that changes between requests is refused as DOWNLOAD_CHANGED.
 */
import { EngineError } from '../../errors';
import { DownloadMeter } from './download-meter';
import { DownloadError, networkError, statusError, whereText } from './http-errors';
import { discard, type HttpClient, type HttpResponse } from './http-client';
import { displayUrl, urlCredentials } from './url-parts';

/** Bytes asked for first: enough to recognise the format (detect.ts reads 4 KiB). */
export const PROBE_BYTES = 4096;
/** Delivered bytes after which a connection counts as healthy again (the retry budget starts over). */
const HEALTHY_BYTES = 1024 * 1024;

export interface RemoteFileOptions {
  client: HttpClient;
  /** Further attempts after a transient failure (default 5, SUREFLASH_HTTP_RETRIES). */
  retries?: number;
  /** First pause before a retry, doubled each time up to 8 s (default 500 ms, SUREFLASH_HTTP_BACKOFF_MS). */
  backoffMs?: number;
  meter?: DownloadMeter;
  /** Stops requests and pauses at once (the job was cancelled). */
  signal?: AbortSignal;
  log?(level: 'info' | 'warn', message: string): void;
}

function envNumber(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return process.env[name] !== undefined && Number.isFinite(value) && value >= 0 ? value : fallback;
}

/** Parses "bytes 0-4095/123456" (total may be "*"). */
export function parseContentRange(value: string | undefined): { start: number; end: number; total: number | null } | null {
  const m = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec((value ?? '').trim());
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(cancelled());
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(cancelled());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function cancelled(): EngineError {
  return new EngineError('CANCELLED', 'Cancelled while downloading.');
}

export class RemoteFile {
  readonly meter: DownloadMeter;
  readonly display: string;
  /** Where redirects led, display form (equals `display` when there were none). */
  finalDisplay = '';
  redirects: string[] = [];
  size: number | null = null;
  etag: string | null = null;
  lastModified: string | null = null;
  /** True when the server answered a Range request with 206 (resume and mapped-only fetches work). */
  ranges = false;
  head: Buffer = Buffer.alloc(0);
  private requestUrl: string;
  private readonly retries: number;
  private readonly backoffMs: number;

  private constructor(
    readonly url: string,
    private readonly options: RemoteFileOptions,
  ) {
    this.meter = options.meter ?? new DownloadMeter();
    this.display = displayUrl(url);
    this.requestUrl = url;
    this.retries = options.retries ?? envNumber('SUREFLASH_HTTP_RETRIES', 5);
    this.backoffMs = options.backoffMs ?? envNumber('SUREFLASH_HTTP_BACKOFF_MS', 500);
  }

  /** Asks for the first PROBE_BYTES: learns size, validators, range support and where redirects lead. */
  static async open(url: string, options: RemoteFileOptions): Promise<RemoteFile> {
    const file = new RemoteFile(url, options);
    await file.probe();
    return file;
  }

  /** How the address is named in messages: asked-for URL, and where it was redirected. */
  get where(): string {
    return whereText(this.url, this.redirects.length > 0 ? this.redirects[this.redirects.length - 1] : undefined);
  }

  private async probe(): Promise<void> {
    await this.withRetries('reading the start of', async () => {
      const res = await this.options.client.send(this.url, { headers: { range: `bytes=0-${PROBE_BYTES - 1}` }, ...this.signalOption() });
      this.redirects = res.redirects;
      this.finalDisplay = displayUrl(res.url);
      // Later requests go straight to where the redirects led, with the address's credentials when the
      // origin is the same (a redirect elsewhere gets netrc's, or none).
      const given = urlCredentials(this.url);
      const final = new URL(res.url);
      if (given && final.origin === new URL(this.url).origin) {
        final.username = encodeURIComponent(given.user);
        final.password = encodeURIComponent(given.password);
      }
      this.requestUrl = final.toString();
      this.etag = res.headers.etag ?? null;
      this.lastModified = res.headers['last-modified'] ?? null;
      if (res.status === 206) {
        const range = parseContentRange(res.headers['content-range']);
        if (!range || range.start !== 0) throw this.protocolError(res, `a Content-Range of "${res.headers['content-range'] ?? ''}" for bytes 0-${PROBE_BYTES - 1}`);
        this.checkLength(res, range.end - range.start + 1);
        this.ranges = true;
        this.size = range.total;
        this.head = await this.collect(res, PROBE_BYTES);
        if (this.head.length !== range.end - range.start + 1) throw this.dropped(res, this.head.length);
      } else if (res.status === 200) {
        this.ranges = false;
        const length = res.headers['content-length'];
        this.size = length !== undefined && /^\d+$/.test(length) ? Number(length) : null;
        this.head = await this.collect(res, PROBE_BYTES);
      } else if (res.status === 416) {
        discard(res.body);
        this.ranges = true;
        this.size = parseContentRange(res.headers['content-range']?.replace('*', '0-0'))?.total ?? 0;
        this.head = Buffer.alloc(0);
      } else {
        discard(res.body);
        throw statusError(res.status, this.url, res.redirects.length > 0 ? res.url : undefined, null);
      }
    });
    if (this.redirects.length > 0) this.options.log?.('info', `${this.display} redirected to ${this.finalDisplay}`);
  }

  private signalOption(extra?: AbortSignal): { signal?: AbortSignal } {
    const signals = [this.options.signal, extra].filter((s): s is AbortSignal => s !== undefined);
    if (signals.length === 0) return {};
    return { signal: signals.length === 1 ? signals[0]! : AbortSignal.any(signals) };
  }

  private aborted(extra?: AbortSignal): boolean {
    return this.options.signal?.aborted === true || extra?.aborted === true;
  }

  /** Reads up to `limit` bytes of a body, then lets the rest go. */
  private async collect(res: HttpResponse, limit: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        const part = chunk.subarray(0, limit - got);
        parts.push(part);
        got += part.length;
        this.meter.add(chunk.length);
        if (got >= limit) break;
      }
    } catch (err) {
      throw networkError(err, this.url, res.url);
    } finally {
      discard(res.body);
    }
    return Buffer.concat(parts);
  }

  private protocolError(res: HttpResponse, what: string): DownloadError {
    discard(res.body);
    return new DownloadError('DOWNLOAD_FAILED', `${this.where}: the server sent ${what}`, false, res.status);
  }

  private dropped(res: HttpResponse, got: number): DownloadError {
    return networkError(new Error(`the response ended after ${got} bytes`), this.url, res.url);
  }

  private checkLength(res: HttpResponse, expected: number): void {
    const length = res.headers['content-length'];
    if (length !== undefined && Number(length) !== expected) {
      throw this.protocolError(res, `Content-Length ${length} for a range of ${expected} bytes: the server's lengths are wrong`);
    }
  }

  /** The If-Range validator: a strong ETag, else Last-Modified; null when the server gave neither. */
  private validator(): string | null {
    if (this.etag && !this.etag.startsWith('W/')) return this.etag;
    return this.lastModified;
  }

  private changed(res: HttpResponse, detail: string): DownloadError {
    discard(res.body);
    return new DownloadError('DOWNLOAD_CHANGED', `${this.where} changed on the server while it was being read (${detail}): refused, a mix of two images must not be written`, false, res.status);
  }

  /** Holds a later response to what the first one said: same ETag, Last-Modified and size. */
  private checkSame(res: HttpResponse, total: number | null): void {
    const etag = res.headers.etag ?? null;
    if (this.etag !== null && etag !== null && etag !== this.etag) throw this.changed(res, `ETag ${this.etag} became ${etag}`);
    const modified = res.headers['last-modified'] ?? null;
    if (this.lastModified !== null && modified !== null && modified !== this.lastModified) {
      throw this.changed(res, `Last-Modified ${this.lastModified} became ${modified}`);
    }
    if (this.size !== null && total !== null && total !== this.size) throw this.changed(res, `its size ${this.size} became ${total}`);
  }

  /** One request for bytes [start, end) (end null: to the end); checks the answer before any byte is used. */
  private async request(start: number, end: number | null, signal?: AbortSignal): Promise<HttpResponse> {
    const headers: Record<string, string> = {};
    if (this.ranges) {
      headers.range = `bytes=${start}-${end === null ? '' : end - 1}`;
      const validator = this.validator();
      if (validator) headers['if-range'] = validator;
    }
    const res = await this.options.client.send(this.requestUrl, { headers, ...this.signalOption(signal) });
    if (res.status === 206) {
      const range = parseContentRange(res.headers['content-range']);
      const lastWanted = end === null ? (this.size === null ? null : this.size - 1) : end - 1;
      if (!range || range.start !== start || (lastWanted !== null && range.end !== lastWanted)) {
        throw this.protocolError(res, `Content-Range "${res.headers['content-range'] ?? ''}" for bytes ${start}-${lastWanted ?? ''}`);
      }
      this.checkSame(res, range.total);
      this.checkLength(res, range.end - range.start + 1);
      return res;
    }
    if (res.status === 200) {
      if (this.ranges) {
        // A 200 to an If-Range request: the validator no longer holds, the content changed.
        if (this.validator() !== null) throw this.changed(res, 'the server no longer accepts its own validator');
        if (start > 0 || end !== null) throw this.protocolError(res, 'the whole file to a Range request it used to honour');
      }
      if (start > 0 || end !== null) {
        discard(res.body);
        throw new DownloadError('DOWNLOAD_NOT_RESUMABLE', `${this.where}: the server does not support Range requests, so reading cannot continue from byte ${start}`, false, 200);
      }
      const length = res.headers['content-length'];
      this.checkSame(res, length !== undefined && /^\d+$/.test(length) ? Number(length) : null);
      return res;
    }
    if (res.status === 416) {
      discard(res.body);
      throw new DownloadError(
        'DOWNLOAD_FAILED',
        `${this.where}: the server cannot send bytes from ${start} (416): it holds fewer bytes than the ${this.size ?? 'announced'} it said`,
        false,
        416,
      );
    }
    discard(res.body);
    throw statusError(res.status, this.url, res.redirects.length > 0 ? res.url : undefined, null);
  }

  private async withRetries<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    for (let failures = 0; ; failures++) {
      try {
        return await attempt();
      } catch (err) {
        if (this.options.signal?.aborted) throw cancelled();
        const error = networkError(err, this.url);
        if (!error.transient || failures >= this.retries) throw this.exhausted(error, failures);
        this.options.log?.('warn', `${error.message}: retrying ${what} ${this.display} (${failures + 1} of ${this.retries})`);
        await sleep(this.pause(failures), this.options.signal);
      }
    }
  }

  private pause(failures: number): number {
    return Math.min(8000, this.backoffMs * 2 ** failures);
  }

  private exhausted(error: DownloadError, failures: number): DownloadError {
    if (failures === 0 || !error.transient) return error;
    return new DownloadError(error.code, `${error.message} (gave up after ${failures + 1} attempts)`, false, error.status);
  }

  /**
   * Bytes [start, end) (end omitted: to the end of the file) as a stream, resumed from the last byte
   * delivered when the connection breaks. Stopping early (break) closes the request; `signal` stops it
   * from outside, even while it waits for the server (the read then fails with CANCELLED).
   */
  async *read(start = 0, end: number | null = null, signal?: AbortSignal): AsyncGenerator<Buffer> {
    let pos = start;
    let failures = 0;
    let sinceFailure = 0;
    const limit = end ?? this.size;
    while (limit === null || pos < limit) {
      let res: HttpResponse | null = null;
      try {
        if (pos > start && !this.ranges) {
          throw new DownloadError(
            'DOWNLOAD_NOT_RESUMABLE',
            `${this.where}: the connection broke off after ${pos} bytes and the server does not support Range requests, so the download cannot resume; refused rather than restarted from the beginning`,
            false,
          );
        }
        res = await this.request(pos, end, signal);
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          const room = limit === null ? chunk.length : limit - pos;
          const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
          this.meter.add(chunk.length);
          pos += part.length;
          sinceFailure += part.length;
          if (sinceFailure >= HEALTHY_BYTES) failures = 0;
          if (part.length > 0) yield part;
          if (limit !== null && pos >= limit) break;
        }
        if (limit === null) return; // no size known: the body's end is the file's end
        if (pos < limit) throw this.dropped(res, pos - start);
      } catch (err) {
        if (this.aborted(signal)) throw cancelled();
        if (err instanceof EngineError && !(err instanceof DownloadError)) throw err;
        const error = networkError(err, this.url, res?.url);
        if (!error.transient || failures >= this.retries) throw this.exhausted(error, failures);
        if (!this.ranges && pos > start) continue; // refused at the top of the loop, naming the byte
        this.options.log?.('warn', `${error.message} at byte ${pos}: resuming with a Range request (${failures + 1} of ${this.retries})`);
        await sleep(this.pause(failures), this.signalOption(signal).signal);
        failures++;
        sinceFailure = 0;
      } finally {
        if (res) discard(res.body);
      }
    }
  }
}
