/**
 * One HTTP(S) request at a time through undici, with what every download here needs: redirects followed
 * (at most MAX_REDIRECTS, each hop recorded), basic auth from the URL or netrc (dropped when a redirect
 * leaves the origin it was meant for), proxies from HTTP_PROXY / HTTPS_PROXY / NO_PROXY, and a timeout on
 * silence (headers or body). Errors are DownloadErrors naming the URL without credentials.
 *
 * Why undici: node:http has no proxy support, and undici's ProxyAgent tunnels with CONNECT (https and http
 * alike, proxy credentials from the proxy URL), pools keep-alive connections for the many range requests
 * of a mapped-only fetch, and it has per-request header and body timeouts. Its EnvHttpProxyAgent is not
 * used: it prints an "experimental" warning on every start; the NO_PROXY rules are a few lines below.
 */
import type { Agent, Dispatcher, ProxyAgent } from 'undici';
import { VERSION } from '../../../version';
import { DownloadError, networkError, statusError } from './http-errors';
import { netrcCredentials } from './netrc';
import { displayUrl, urlCredentials, withoutCredentials } from './url-parts';

export const MAX_REDIRECTS = 10;

type Undici = typeof import('undici');
let undiciModule: Promise<Undici> | null = null;
/** undici is loaded on the first request: a job from a file never reads it from disk (start-up, memory). */
const loadUndici = (): Promise<Undici> => (undiciModule ??= import('undici'));

export interface HttpClientOptions {
  /** Silence (no headers, no body bytes) after which a request fails as stalled. */
  timeoutMs?: number;
  /** Environment for proxies and netrc (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Certificates trusted instead of the system's (tests). Users add theirs with NODE_EXTRA_CA_CERTS. */
  ca?: string | Buffer;
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Dispatcher.ResponseData['body'];
  /** The URL that answered (after redirects), without credentials. */
  url: string;
  /** Each URL a redirect led to, in order (display form). */
  redirects: string[];
}

export interface SendOptions {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Timeout default: a server silent for 30 s is taken as stalled (SUREFLASH_HTTP_TIMEOUT_MS overrides). */
export function defaultTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.SUREFLASH_HTTP_TIMEOUT_MS);
  return Number.isFinite(value) && value > 0 ? value : 30_000;
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name.toLowerCase()] ?? env[name.toUpperCase()];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/**
 * NO_PROXY as curl reads it: "*" for everything, comma- or space-separated host names (a leading "." or
 * "*." matches subdomains, a bare name matches itself and its subdomains), optional ":port".
 */
export function bypassesProxy(url: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  for (const raw of noProxy.split(/[,\s]+/)) {
    if (raw === '') continue;
    if (raw === '*') return true;
    const match = /^(.*?)(?::(\d+))?$/.exec(raw.toLowerCase());
    const name = (match?.[1] ?? '').replace(/^\*?\./, '').replace(/^\[|\]$/g, '');
    if (match?.[2] && Number(match[2]) !== port) continue;
    if (name !== '' && (host === name || host.endsWith(`.${name}`))) return true;
  }
  return false;
}

/** Lets a response body go without reading it (undici reports destroying an unread body as an error). */
export function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.host === b.host;
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export class HttpClient {
  readonly timeoutMs: number;
  private readonly env: NodeJS.ProcessEnv;
  private direct: Agent | null = null;
  private readonly proxies = new Map<string, ProxyAgent>();
  private readonly ca: string | Buffer | undefined;

  constructor(options: HttpClientOptions = {}) {
    this.env = options.env ?? process.env;
    this.timeoutMs = options.timeoutMs ?? defaultTimeoutMs(this.env);
    this.ca = options.ca;
  }

  /** The proxy URL that `url` goes through, or null (display form, no credentials). */
  proxyFor(url: URL): string | null {
    if (bypassesProxy(url, envValue(this.env, 'no_proxy'))) return null;
    const proxy = url.protocol === 'https:' ? (envValue(this.env, 'https_proxy') ?? envValue(this.env, 'http_proxy')) : envValue(this.env, 'http_proxy');
    return proxy ?? null;
  }

  private dispatcher(undici: Undici, url: URL): Dispatcher {
    const proxy = this.proxyFor(url);
    if (!proxy) return (this.direct ??= new undici.Agent({ connect: { timeout: this.timeoutMs, ...(this.ca ? { ca: this.ca } : {}) }, keepAliveTimeout: 10_000 }));
    let agent = this.proxies.get(proxy);
    if (!agent) {
      const tls = this.ca ? { ca: this.ca } : {};
      agent = new undici.ProxyAgent({ uri: proxy, requestTls: tls, proxyTls: tls, connect: { timeout: this.timeoutMs } });
      this.proxies.set(proxy, agent);
    }
    return agent;
  }

  /**
   * Sends one request, following redirects. Resolves with any final status (the caller decides what a 4xx
   * means for it); rejects with a DownloadError when no response came or redirects ran away. The body must
   * be consumed or destroyed.
   */
  async send(address: string, options: SendOptions = {}): Promise<HttpResponse> {
    const origin = new URL(address);
    const given = urlCredentials(origin);
    let current = withoutCredentials(origin);
    const redirects: string[] = [];
    const undici = await loadUndici();
    for (;;) {
      const credentials = sameOrigin(current, origin) && given ? given : netrcCredentials(current.hostname, this.env);
      const headers: Record<string, string> = {
        'user-agent': `sureflash/${VERSION}`,
        'accept-encoding': 'identity',
        ...options.headers,
      };
      if (credentials) headers.authorization = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
      let response: Dispatcher.ResponseData;
      try {
        response = await undici.request(current, {
          method: options.method ?? 'GET',
          headers,
          dispatcher: this.dispatcher(undici, current),
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch (err) {
        throw networkError(err, address, redirects.length > 0 ? current.toString() : undefined);
      }
      const location = response.headers.location;
      if (response.statusCode >= 300 && response.statusCode < 400 && response.statusCode !== 304 && typeof location === 'string') {
        discard(response.body);
        if (redirects.length >= MAX_REDIRECTS) {
          throw new DownloadError('DOWNLOAD_FAILED', `${displayUrl(address)}: more than ${MAX_REDIRECTS} redirects (last to ${displayUrl(location)})`, false);
        }
        const next = new URL(location, current);
        if (next.protocol !== 'http:' && next.protocol !== 'https:') {
          throw new DownloadError('DOWNLOAD_FAILED', `${displayUrl(address)}: redirected to ${next.protocol} which Sureflash does not download from`, false);
        }
        current = withoutCredentials(next);
        redirects.push(displayUrl(current));
        continue;
      }
      const result: HttpResponse = { status: response.statusCode, headers: flatten(response.headers), body: response.body, url: current.toString(), redirects };
      if (result.status === 401 || result.status === 403) {
        discard(response.body);
        const from = credentials ? (given && sameOrigin(current, origin) ? 'the address' : 'netrc') : null;
        throw statusError(result.status, address, redirects.length > 0 ? current.toString() : undefined, from);
      }
      return result;
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.direct?.close(), ...[...this.proxies.values()].map((p) => p.close())]).catch(() => undefined);
  }
}
