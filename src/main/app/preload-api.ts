/**
 * The Api as the preload exposes it, built from the contract by createApiProxy: invoke methods over
 * ipcRenderer.invoke on their channels, event listeners that only ever see the payload (never Electron's
 * event object, never ipcRenderer), and pathForFile through webUtils. onConfirm never fires here: main asks
 * its questions in native dialogs. Built from its two Electron parts so it can be tested without Electron.
 */
import type { IpcRenderer, IpcRendererEvent, WebUtils } from 'electron';
import { API_EVENTS, invokeChannel, type Api } from '../../shared/api';
import { createApiProxy } from '../../shared/api-proxy';
import type { Result } from '../../shared/result';

export type PreloadIpc = Pick<IpcRenderer, 'invoke' | 'on' | 'removeListener'>;

export function createPreloadApi(ipc: PreloadIpc, webUtils: Pick<WebUtils, 'getPathForFile'>): Api {
  return createApiProxy({
    invoke: (method, args) => ipc.invoke(invokeChannel(method), ...args) as Promise<Result<unknown>>,
    subscribe: (event, listener) => {
      // Main confirms natively: no page may be asked (or answer) in its place.
      if (event === 'confirm') return () => undefined;
      const channel = API_EVENTS[event];
      const handler = (_event: IpcRendererEvent, payload: Parameters<typeof listener>[0]): void => listener(payload);
      ipc.on(channel, handler);
      return () => void ipc.removeListener(channel, handler);
    },
    pathForFile: (file) => {
      try {
        return webUtils.getPathForFile(file) || null;
      } catch {
        return null;
      }
    },
  });
}
