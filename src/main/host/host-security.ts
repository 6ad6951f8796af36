/**
 * Who may talk to the browser host: requests must carry the random token (query or cookie) and name
 * 127.0.0.1 / localhost on our port in Host (and Origin, when a browser sends one), which stops other
 * local pages and DNS-rebinding sites from driving the Api.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const newToken = (): string => randomBytes(24).toString('base64url');

/** Cookie that carries the token for the page's own asset requests (set on the first tokened load). */
export const tokenCookieName = (port: number): string => `sureflash_token_${port}`;

export function tokensEqual(given: string | null | undefined, token: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

const allowedHosts = (port: number): string[] => [`127.0.0.1:${port}`, `localhost:${port}`];

/** Host header names us (not an attacker's domain resolved to 127.0.0.1). */
export function isAllowedHost(host: string | undefined, port: number): boolean {
  return host !== undefined && allowedHosts(port).includes(host.toLowerCase());
}

/** Origin, when present, is our own page; absent Origin (non-browser clients) is left to the token. */
export function isAllowedOrigin(origin: string | undefined, port: number): boolean {
  if (origin === undefined) return true;
  return allowedHosts(port).some((host) => origin.toLowerCase() === `http://${host}`);
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return null;
}

/** The token a request carries: `?token=` first, then the cookie. */
export function requestToken(req: IncomingMessage, url: URL, port: number): string | null {
  return url.searchParams.get('token') ?? cookieValue(req.headers.cookie, tokenCookieName(port));
}

export type Refusal = { status: 403 | 421; reason: string } | null;

/** Why a request must be refused, or null when it may go on. */
export function checkRequest(req: IncomingMessage, url: URL, port: number, token: string): Refusal {
  if (!isAllowedHost(req.headers.host, port)) return { status: 421, reason: 'Unknown host name' };
  if (!isAllowedOrigin(req.headers.origin, port)) return { status: 403, reason: 'Cross-origin request refused' };
  if (!tokensEqual(requestToken(req, url, port), token)) {
    return { status: 403, reason: 'Missing or wrong token: open the exact URL the Sureflash host printed' };
  }
  return null;
}
