/**
 * Who may talk to the browser host. Every request must name 127.0.0.1 / localhost on our port in Host
 * (and Origin, when a browser sends one), which stops DNS-rebinding sites and other local pages. The page
 * and its assets are public code and need nothing more; what can act — the Api WebSocket and the test
 * endpoint — needs the random token: in the WebSocket handshake as a subprotocol (see
 * src/shared/host-protocol.ts), on the test endpoint as `Authorization: Bearer`. No cookie is set, so no
 * other service on 127.0.0.1 ever receives the token.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HOST_TOKEN_PROTOCOL_PREFIX, HOST_WS_PROTOCOL } from '../../shared/host-protocol';

export const newToken = (): string => randomBytes(24).toString('base64url');

export function tokensEqual(given: string | null | undefined, token: string): boolean {
  if (typeof given !== 'string' || given === '') return false;
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

/** The subprotocols a WebSocket handshake offers, in order. */
export function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  return typeof header === 'string' ? header.split(',').map((p) => p.trim()).filter((p) => p !== '') : [];
}

/** The token a WebSocket handshake carries (`sureflash.token.<token>` next to `sureflash.v1`), or null. */
export function handshakeToken(req: IncomingMessage): string | null {
  const offered = offeredProtocols(req);
  if (!offered.includes(HOST_WS_PROTOCOL)) return null;
  const carriers = offered.filter((p) => p.startsWith(HOST_TOKEN_PROTOCOL_PREFIX));
  return carriers.length === 1 ? (carriers[0] ?? '').slice(HOST_TOKEN_PROTOCOL_PREFIX.length) : null;
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(req: IncomingMessage): string | null {
  const match = /^Bearer ([A-Za-z0-9_-]+)$/.exec(req.headers.authorization ?? '');
  return match?.[1] ?? null;
}

export type Refusal = { status: 403 | 404 | 421; reason: string } | null;

/** Why a request must be refused for its Host or Origin, or null when it may go on. */
export function checkSource(req: IncomingMessage, port: number): Refusal {
  if (!isAllowedHost(req.headers.host, port)) return { status: 421, reason: 'Unknown host name' };
  if (!isAllowedOrigin(req.headers.origin, port)) return { status: 403, reason: 'Cross-origin request refused' };
  return null;
}

const WRONG_TOKEN = 'Missing or wrong token: open the exact URL the Sureflash host printed';

/** Host and Origin checks, then the token as `read` takes it from the request. */
export function checkAuthorized(req: IncomingMessage, port: number, token: string, read: (req: IncomingMessage) => string | null): Refusal {
  return checkSource(req, port) ?? (tokensEqual(read(req), token) ? null : { status: 403, reason: WRONG_TOKEN });
}
