import type { Api } from '../shared/api';

declare global {
  interface Window {
    /** Provided by the Electron preload; absent in a plain browser (the WebSocket client stands in). */
    sureflash?: Api;
  }
}
