/**
 * Wire format of the browser host's WebSocket: the Api carried as JSON messages. The host
 * (src/main/host) and the renderer's WebSocket client (src/renderer/api) both read this one definition.
 *
 * The page proves the host's token in the handshake, as the second of two offered subprotocols
 * (`sureflash.v1`, `sureflash.token.<token>`); the host selects only `sureflash.v1`, so the token is
 * never echoed, never in a URL the server logs, and never in a cookie another local service could see.
 */
import type { ApiEvent, ApiEventPayloads, ApiInvokeMethod } from './api';
import type { Result } from './result';

/** Path of the WebSocket endpoint on the host. */
export const HOST_WS_PATH = '/api';
/** The subprotocol the page offers and the host selects. */
export const HOST_WS_PROTOCOL = 'sureflash.v1';
/** Prefix of the subprotocol that carries the token (offered, never selected). */
export const HOST_TOKEN_PROTOCOL_PREFIX = 'sureflash.token.';

/** The subprotocols a page offers to prove `token`. */
export const hostProtocols = (token: string): string[] => [HOST_WS_PROTOCOL, `${HOST_TOKEN_PROTOCOL_PREFIX}${token}`];

/** Largest message the host accepts from a page (paths and small objects only). */
export const HOST_MAX_MESSAGE_BYTES = 64 * 1024;

/** Browser -> host. */
export type HostRequest =
  | { kind: 'invoke'; id: number; method: ApiInvokeMethod; args: unknown[] }
  /** Start or stop receiving one push event (the host polls drives only while someone listens). */
  | { kind: 'listen'; event: ApiEvent; on: boolean };

/** One push event with its payload. */
export type HostEventMessage = { [E in ApiEvent]: { kind: 'event'; event: E; payload: ApiEventPayloads[E] } }[ApiEvent];

/** Host -> browser. */
export type HostMessage = { kind: 'result'; id: number; result: Result<unknown> } | HostEventMessage;
