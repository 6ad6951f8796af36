/**
 * The one ipcMain wrapper: one `handle` per Api invoke channel. Every call first proves it comes from our
 * window's main frame showing our own renderer; anything else gets a refusal and never reaches the api core
 * (which validates every argument). Electron types only: nothing here runs a BrowserWindow.
 */
import type { IpcMain, IpcMainInvokeEvent, WebContents, WebFrameMain } from 'electron';
import { API_INVOKE_METHODS, invokeChannel } from '../../shared/api';
import { fail } from '../../shared/result';
import type { ApiCore } from '../services/api-core';

export interface RegisterApiOptions {
  isTrustedSender(event: IpcMainInvokeEvent): boolean;
  /** Called for each refused call (for the log); the sender only learns that it was refused. */
  onRejected?(channel: string, senderUrl: string | null): void;
}

function safeCheck(check: (event: IpcMainInvokeEvent) => boolean, event: IpcMainInvokeEvent): boolean {
  try {
    return check(event) === true;
  } catch {
    return false;
  }
}

/** Registers every invoke channel; returns a function that removes them again. */
export function registerApi(ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>, core: ApiCore, options: RegisterApiOptions): () => void {
  const channels: string[] = [];
  for (const method of API_INVOKE_METHODS) {
    const channel = invokeChannel(method);
    const call = core[method];
    ipcMain.handle(channel, (event, ...args: unknown[]) => {
      if (!safeCheck(options.isTrustedSender, event)) {
        options.onRejected?.(channel, event.senderFrame?.url ?? null);
        return fail('PERMISSION_DENIED', 'This window is not allowed to use Sureflash.');
      }
      return call(...args);
    });
    channels.push(channel);
  }
  return () => channels.forEach((channel) => ipcMain.removeHandler(channel));
}

/** The parts of a BrowserWindow the sender check reads. */
export interface TrustedWindow {
  isDestroyed(): boolean;
  webContents: Pick<WebContents, 'id'> & { mainFrame: WebFrameMain };
}

/** True when `url` is our renderer page itself (file://, same path; query and fragment ignored). */
export function isRendererUrl(url: string, rendererUrl: string): boolean {
  let actual: URL;
  let expected: URL;
  try {
    actual = new URL(url);
    expected = new URL(rendererUrl);
  } catch {
    return false;
  }
  return actual.protocol === 'file:' && expected.protocol === 'file:' && actual.host === expected.host && actual.pathname === expected.pathname;
}

/**
 * The sender check for our window: the call must come from the window's main frame (not a subframe, not
 * another window) and that frame must show our file:// renderer.
 */
export function trustedSenderCheck(getWindow: () => TrustedWindow | null, rendererUrl: string): (event: IpcMainInvokeEvent) => boolean {
  return (event) => {
    const win = getWindow();
    if (!win || win.isDestroyed()) return false;
    const frame = event.senderFrame;
    if (!frame) return false;
    if (event.sender.id !== win.webContents.id) return false;
    if (frame !== win.webContents.mainFrame) return false;
    return isRendererUrl(frame.url, rendererUrl);
  };
}
