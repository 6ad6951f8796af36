/**
 * The sandboxed preload (bundled to dist/main/preload.cjs, CommonJS): exposes the Api as
 * `window.sureflash` and nothing else.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { createPreloadApi } from './preload-api';

contextBridge.exposeInMainWorld('sureflash', createPreloadApi(ipcRenderer, webUtils));
