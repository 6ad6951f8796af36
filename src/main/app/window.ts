/**
 * The hardened window defaults, in one place: no Node in the renderer, sandbox and context isolation on,
 * no new windows, no navigation away from our page, external https links only through the OS browser,
 * the one Content-Security-Policy (src/shared/content-security-policy.ts) and every permission request
 * denied. Only Electron *types* are imported here, so the rules can be unit-tested with plain objects.
 */
import type { BrowserWindowConstructorOptions, HandlerDetails, Session, WebContents, WindowOpenHandlerResponse } from 'electron';
import { CONTENT_SECURITY_POLICY } from '../../shared/content-security-policy';
import { isRendererUrl } from './register-api';

export function windowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1000,
    height: 720,
    minWidth: 720,
    minHeight: 540,
    show: false,
    title: 'Sureflash',
    backgroundColor: '#1b1d23',
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      safeDialogs: true,
    },
  };
}

/** True for links we hand to the OS browser: https only, nothing else (no file:, no custom schemes). */
export function isExternalLink(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:';
  } catch {
    return false;
  }
}

/** The parts of WebContents the guards use. */
export type GuardedContents = Pick<WebContents, 'setWindowOpenHandler' | 'on'>;

/**
 * Denies every new window (opening https links in the OS browser instead), blocks navigation and
 * redirects away from our renderer page, and refuses <webview>.
 */
export function guardContents(contents: GuardedContents, rendererUrl: string, openExternal: (url: string) => void): void {
  contents.setWindowOpenHandler((details: HandlerDetails): WindowOpenHandlerResponse => {
    if (isExternalLink(details.url)) openExternal(details.url);
    return { action: 'deny' };
  });
  const stayHome = (event: { preventDefault(): void }, url: string): void => {
    if (isRendererUrl(url, rendererUrl)) return;
    event.preventDefault();
    if (isExternalLink(url)) openExternal(url);
  };
  contents.on('will-navigate', (event, url) => stayHome(event, url));
  contents.on('will-redirect', (event, url) => stayHome(event, url));
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

/** The parts of Session the policy uses. */
export type GuardedSession = {
  webRequest: Pick<Session['webRequest'], 'onHeadersReceived'>;
} & Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'>;

/** Adds the CSP header to every response and denies every permission (camera, notifications prompt, ...). */
export function guardSession(session: GuardedSession): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}
