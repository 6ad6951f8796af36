/**
 * The Api as the preload exposes it: invoke methods over ipcRenderer.invoke on their channels, event
 * listeners that only ever see the payload (never Electron's event object, never ipcRenderer), and
 * pathForFile through webUtils. Built from its two Electron parts so it can be tested without Electron.
 */
import type { IpcRenderer, IpcRendererEvent, WebUtils } from 'electron';
import { API_EVENTS, invokeChannel, type Api, type ApiInvokeMethod, type DriveInfo, type FlashEvent, type Unsubscribe } from '../../shared/api';
import type { Result } from '../../shared/result';

export type PreloadIpc = Pick<IpcRenderer, 'invoke' | 'on' | 'removeListener'>;

export function createPreloadApi(ipc: PreloadIpc, webUtils: Pick<WebUtils, 'getPathForFile'>): Api {
  const invoke = <T>(method: ApiInvokeMethod, ...args: unknown[]): Promise<Result<T>> =>
    ipc.invoke(invokeChannel(method), ...args) as Promise<Result<T>>;
  const listen = <T>(channel: string, listener: (payload: T) => void): Unsubscribe => {
    const handler = (_event: IpcRendererEvent, payload: T): void => listener(payload);
    ipc.on(channel, handler);
    return () => void ipc.removeListener(channel, handler);
  };
  return {
    listDrives: () => invoke('listDrives'),
    onDrives: (listener) => listen<DriveInfo[]>(API_EVENTS.drives, listener),
    pickImage: () => invoke('pickImage'),
    probeImage: (path) => invoke('probeImage', path),
    getSettings: () => invoke('getSettings'),
    setSettings: (patch) => invoke('setSettings', patch),
    flash: (request) => invoke('flash', request),
    cancel: (jobId, device) => (device === undefined ? invoke('cancel', jobId) : invoke('cancel', jobId, device)),
    saveReport: (jobId) => invoke('saveReport', jobId),
    getAppInfo: () => invoke('getAppInfo'),
    onFlashEvent: (listener) => listen<FlashEvent>(API_EVENTS.flash, listener),
    pathForFile: (file) => {
      try {
        return webUtils.getPathForFile(file) || null;
      } catch {
        return null;
      }
    },
  };
}
