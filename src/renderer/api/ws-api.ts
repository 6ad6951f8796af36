/**
 * The Api over the browser host's WebSocket, used when no Electron preload provides `window.sureflash`.
 * Calls made before the socket opens wait for it; a closed socket fails every pending call with a message.
 */
import type { Api, ApiInvokeMethod, AppInfo, DriveInfo, FlashEvent, ImageInfo, Settings, Unsubscribe } from '../../shared/api';
import { HOST_WS_PATH, type HostMessage, type HostRequest } from '../../shared/host-protocol';
import type { ApiError, Result } from '../../shared/result';

/** The smallest WebSocket surface the client needs (the browser's, or a test double). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

const OPEN = 1;
const lostError: ApiError = {
  code: 'INTERNAL',
  message: 'Lost the connection to the Sureflash host. Restart it (npm run web) and reload this page.',
};

/** WebSocket address of the host that served this page, carrying the page's token. */
export function hostSocketUrl(location: { protocol: string; host: string; search: string }): string {
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${HOST_WS_PATH}?token=${encodeURIComponent(token)}`;
}

/** Plain-words message for a lost host connection. */
export const HOST_LOST_MESSAGE = lostError.message;

/** `onLost` is told once when the socket closes or fails (the host stopped or the network dropped). */
export function createWsApi(socket: SocketLike, onLost?: (message: string) => void): Api {
  let nextId = 1;
  let closed = false;
  const pending = new Map<number, (result: Result<unknown>) => void>();
  const queue: string[] = [];
  const driveListeners = new Set<(drives: DriveInfo[]) => void>();
  const flashListeners = new Set<(event: FlashEvent) => void>();

  const send = (message: HostRequest): void => {
    const text = JSON.stringify(message);
    if (socket.readyState === OPEN) socket.send(text);
    else queue.push(text);
  };

  socket.addEventListener('open', () => {
    for (const text of queue.splice(0)) socket.send(text);
  });
  const failAll = (): void => {
    if (!closed) onLost?.(lostError.message);
    closed = true;
    for (const resolve of pending.values()) resolve({ ok: false, error: lostError });
    pending.clear();
  };
  socket.addEventListener('close', failAll);
  socket.addEventListener('error', failAll);
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
    } else if (message.kind === 'drives') {
      for (const listener of driveListeners) listener(message.drives);
    } else if (message.kind === 'flash-event') {
      for (const listener of flashListeners) listener(message.event);
    }
  });

  const invoke = <T>(method: ApiInvokeMethod, ...args: unknown[]): Promise<Result<T>> => {
    if (closed) return Promise.resolve({ ok: false, error: lostError });
    const id = nextId++;
    return new Promise<Result<T>>((resolve) => {
      pending.set(id, resolve as (result: Result<unknown>) => void);
      send({ kind: 'invoke', id, method, args });
    });
  };

  return {
    listDrives: () => invoke<DriveInfo[]>('listDrives'),
    onDrives(listener): Unsubscribe {
      driveListeners.add(listener);
      if (driveListeners.size === 1) send({ kind: 'watch-drives', on: true });
      return () => {
        if (driveListeners.delete(listener) && driveListeners.size === 0 && !closed) send({ kind: 'watch-drives', on: false });
      };
    },
    pickImage: () => invoke<ImageInfo | null>('pickImage'),
    probeImage: (path) => invoke<ImageInfo>('probeImage', path),
    getSettings: () => invoke<Settings>('getSettings'),
    setSettings: (patch) => invoke<Settings>('setSettings', patch),
    flash: (request) => invoke<{ jobId: string }>('flash', request),
    cancel: (jobId, device) => invoke<null>('cancel', ...(device === undefined ? [jobId] : [jobId, device])),
    saveReport: (jobId) => invoke<string | null>('saveReport', jobId),
    getAppInfo: () => invoke<AppInfo>('getAppInfo'),
    onFlashEvent(listener): Unsubscribe {
      flashListeners.add(listener);
      return () => flashListeners.delete(listener);
    },
    // A browser never reveals where a dropped file lives on disk.
    pathForFile: () => null,
  };
}
