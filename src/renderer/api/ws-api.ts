/**
 * The Api over the browser host's WebSocket, used when no Electron preload provides `window.sureflash`,
 * built from the contract by createApiProxy. Calls made before the socket opens wait for it; a closed
 * socket fails every pending call with a message. The token comes from the printed address once, is kept
 * in this tab's sessionStorage (so a reload works) and taken out of the address bar.
 */
import type { Api, ApiEvent, ApiEventPayloads } from '../../shared/api';
import { createApiProxy } from '../../shared/api-proxy';
import { HOST_WS_PATH, hostProtocols, type HostMessage, type HostRequest } from '../../shared/host-protocol';
import type { ApiError, Result } from '../../shared/result';

/** The smallest WebSocket surface the client needs (the browser's, or a test double). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

const OPEN = 1;
/** Where this tab keeps the host's token between reloads. */
export const TOKEN_STORAGE_KEY = 'sureflash.host-token';

/** Plain-words message for a lost host connection. */
export const HOST_LOST_MESSAGE = 'Lost the connection to the Sureflash host. Restart it (npm run web) and reload this page.';
/** The host refused the connection (a token from an earlier run) or was not there. */
export const HOST_REFUSED_MESSAGE =
  'Could not connect to the Sureflash host: open the exact address it printed when it started (the token changes every start).';
/** The page was opened without the token and this tab has none. */
export const NO_TOKEN_MESSAGE = 'This page has no access token: open the exact address the Sureflash host printed (it ends in ?token=…).';

const apiError = (message: string): ApiError => ({ code: 'INTERNAL', message });

/** WebSocket address of the host that served this page (the token goes in the handshake, not the URL). */
export function hostSocketUrl(location: { protocol: string; host: string }): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${HOST_WS_PATH}`;
}

/**
 * The page's token: a non-empty `?token=` in the address (kept in `storage` for reloads), else the one kept
 * earlier in this tab. Any `token` parameter, even an empty one, is removed from the address bar.
 */
export function takeHostToken(
  location: { href: string },
  history: Pick<History, 'replaceState' | 'state'>,
  storage: Pick<Storage, 'getItem' | 'setItem'> | null,
): string | null {
  const url = new URL(location.href);
  const given = url.searchParams.get('token');
  if (url.searchParams.has('token')) {
    url.searchParams.delete('token');
    history.replaceState(history.state, '', `${url.pathname}${url.search}${url.hash}`);
  }
  try {
    if (given) {
      storage?.setItem(TOKEN_STORAGE_KEY, given);
      return given;
    }
    return storage?.getItem(TOKEN_STORAGE_KEY) || null;
  } catch {
    // Storage disabled: the address was the only place.
    return given || null;
  }
}

/**
 * The Api over `socket`; null means there is no token to connect with (every call fails with a message).
 * `onLost` is told once when the socket closes or fails (the host stopped or refused us).
 */
export function createWsApi(socket: SocketLike | null, onLost?: (message: string) => void): Api {
  let nextId = 1;
  let opened = socket?.readyState === OPEN;
  let lost: ApiError | null = null;
  const pending = new Map<number, (result: Result<unknown>) => void>();
  const queue: string[] = [];
  const listeners = new Map<ApiEvent, Set<(payload: never) => void>>();

  const send = (message: HostRequest): void => {
    const text = JSON.stringify(message);
    if (socket?.readyState === OPEN) socket.send(text);
    else queue.push(text);
  };

  const failAll = (message: string): void => {
    if (lost === null) onLost?.(message);
    lost ??= apiError(message);
    for (const resolve of pending.values()) resolve({ ok: false, error: lost });
    pending.clear();
  };

  if (socket === null) {
    // Told after the caller has wired its store (it binds onLost right after this returns).
    void Promise.resolve().then(() => failAll(NO_TOKEN_MESSAGE));
  } else {
    socket.addEventListener('open', () => {
      opened = true;
      for (const text of queue.splice(0)) socket.send(text);
    });
    const closed = (): void => failAll(opened ? HOST_LOST_MESSAGE : HOST_REFUSED_MESSAGE);
    socket.addEventListener('close', closed);
    socket.addEventListener('error', closed);
    socket.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') return;
      let message: HostMessage;
      try {
        message = JSON.parse(event.data) as HostMessage;
      } catch {
        return;
      }
      if (message.kind === 'result') {
        const resolve = pending.get(message.id);
        pending.delete(message.id);
        resolve?.(message.result);
      } else if (message.kind === 'event') {
        for (const listener of listeners.get(message.event) ?? []) (listener as (payload: unknown) => void)(message.payload);
      }
    });
  }

  return createApiProxy({
    invoke(method, args) {
      if (lost !== null) return Promise.resolve({ ok: false, error: lost });
      const id = nextId++;
      return new Promise<Result<unknown>>((resolve) => {
        pending.set(id, resolve);
        send({ kind: 'invoke', id, method, args });
      });
    },
    subscribe<E extends ApiEvent>(event: E, listener: (payload: ApiEventPayloads[E]) => void) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener);
      if (set.size === 1 && lost === null) send({ kind: 'listen', event, on: true });
      return () => {
        if (set.delete(listener) && set.size === 0 && lost === null) send({ kind: 'listen', event, on: false });
      };
    },
    // A browser never reveals where a dropped file lives on disk.
    pathForFile: () => null,
  });
}

/** The Api of the host that served this page: its token taken from the address (or this tab's storage). */
export function connectToHost(
  win: Pick<Window & typeof globalThis, 'location' | 'history' | 'sessionStorage' | 'WebSocket'>,
  onLost: (message: string) => void,
): Api {
  let storage: Storage | null;
  try {
    storage = win.sessionStorage;
  } catch {
    // Storage refused (privacy settings): the address is the only place the token can come from.
    storage = null;
  }
  const token = takeHostToken(win.location, win.history, storage);
  if (token === null) return createWsApi(null, onLost);
  return createWsApi(new win.WebSocket(hostSocketUrl(win.location), hostProtocols(token)), onLost);
}
