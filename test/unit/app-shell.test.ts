import { describe, expect, it } from 'vitest';
import { API_EVENT_LISTENERS, API_EVENTS, API_INVOKE_METHODS, invokeChannel, type FlashEvent } from '../../src/shared/api';
import type { FlashReport, BatchReport } from '../../src/shared/report';
import { createFlashFeedback, endMessage } from '../../src/main/app/flash-feedback';
import { createPreloadApi, type PreloadIpc } from '../../src/main/app/preload-api';
import { CONTENT_SECURITY_POLICY } from '../../src/shared/content-security-policy';
import { guardContents, guardSession, isExternalLink, windowOptions, type GuardedContents, type GuardedSession } from '../../src/main/app/window';

// Electron cannot run here: its objects are replaced by plain ones with the same methods.
const RENDERER = 'file:///opt/Sureflash/resources/app.asar/dist/renderer/index.html';

describe('window options', () => {
  it('keeps Node out of the renderer and turns every isolation on', () => {
    const prefs = windowOptions('/app/dist/main/preload.cjs').webPreferences!;
    expect(prefs).toMatchObject({
      preload: '/app/dist/main/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('has a CSP that allows only our own scripts and connections', () => {
    const directives = Object.fromEntries(CONTENT_SECURITY_POLICY.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]));
    expect(directives['default-src']).toBe("'self'");
    expect(directives['script-src']).toBe("'self'");
    expect(directives['connect-src']).toBe("'self'");
    expect(directives['object-src']).toBe("'none'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-eval');
  });
});

function fakeContents() {
  const listeners = new Map<string, (event: { preventDefault(): void }, url: string) => void>();
  let openHandler: ((details: { url: string }) => { action: string }) | null = null;
  const contents = {
    setWindowOpenHandler: (h: typeof openHandler) => void (openHandler = h),
    on: (name: string, l: (event: { preventDefault(): void }, url: string) => void) => void listeners.set(name, l),
  };
  const fire = (name: string, url: string): boolean => {
    let prevented = false;
    listeners.get(name)!({ preventDefault: () => void (prevented = true) }, url);
    return prevented;
  };
  return { contents: contents as unknown as GuardedContents, fire, open: (url: string) => openHandler!({ url }) };
}

describe('navigation guards', () => {
  it('denies every new window and opens only https links in the OS browser', () => {
    const opened: string[] = [];
    const { contents, open } = fakeContents();
    guardContents(contents, RENDERER, (url) => opened.push(url));
    expect(open('https://example.com/help')).toEqual({ action: 'deny' });
    expect(open('http://example.com/')).toEqual({ action: 'deny' });
    expect(open('file:///etc/passwd')).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://example.com/help']);
  });

  it('blocks navigation and redirects away from our page, allows our page itself, refuses webviews', () => {
    const opened: string[] = [];
    const { contents, fire } = fakeContents();
    guardContents(contents, RENDERER, (url) => opened.push(url));
    expect(fire('will-navigate', `${RENDERER}#/done`)).toBe(false);
    expect(fire('will-navigate', 'file:///tmp/evil.html')).toBe(true);
    expect(fire('will-redirect', 'https://example.com/')).toBe(true);
    expect(fire('will-navigate', 'javascript:alert(1)')).toBe(true);
    expect(fire('will-attach-webview', RENDERER)).toBe(true);
    expect(opened).toEqual(['https://example.com/']);
  });

  it.each([
    ['https://example.com', true],
    ['http://example.com', false],
    ['mailto:a@b.c', false],
    ['sureflash://x', false],
    ['nonsense', false],
  ])('isExternalLink(%s) = %s', (url, expected) => expect(isExternalLink(url)).toBe(expected));

  it('adds the CSP header and denies every permission', () => {
    let headers: Record<string, string[]> | undefined;
    let permission: boolean | null = null;
    let check: (() => boolean) | null = null;
    const fake = {
      webRequest: {
        onHeadersReceived: (l: (d: { responseHeaders: Record<string, string[]> }, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void) =>
          l({ responseHeaders: { 'Content-Type': ['text/html'] } }, (r) => void (headers = r.responseHeaders)),
      },
      setPermissionRequestHandler: (h: (c: unknown, p: string, cb: (ok: boolean) => void) => void) => h(null, 'media', (ok) => void (permission = ok)),
      setPermissionCheckHandler: (h: () => boolean) => void (check = h),
    };
    guardSession(fake as unknown as GuardedSession);
    expect(headers).toEqual({ 'Content-Type': ['text/html'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
    expect(permission).toBe(false);
    expect(check!()).toBe(false);
  });
});

describe('preload api', () => {
  function fakeIpc() {
    const invoked: [string, unknown[]][] = [];
    const listeners = new Map<string, Set<(...args: unknown[]) => void>>();
    const ipc = {
      invoke: async (channel: string, ...args: unknown[]) => (invoked.push([channel, args]), { ok: true, value: channel }),
      on: (channel: string, l: (...args: unknown[]) => void) => (listeners.get(channel) ?? listeners.set(channel, new Set()).get(channel)!).add(l),
      removeListener: (channel: string, l: (...args: unknown[]) => void) => listeners.get(channel)?.delete(l),
    };
    const emit = (channel: string, payload: unknown) => listeners.get(channel)?.forEach((l) => l({ sender: 'electron-event' }, payload));
    return { ipc: ipc as unknown as PreloadIpc, invoked, emit, count: (channel: string) => listeners.get(channel)?.size ?? 0 };
  }

  it('invokes each method on its channel with its arguments', async () => {
    const { ipc, invoked } = fakeIpc();
    const api = createPreloadApi(ipc, { getPathForFile: () => '' });
    await api.probeImage('/a.img');
    await api.setSettings({ eject: true });
    await api.cancel('j1');
    await api.listDrives();
    expect(invoked).toEqual([
      [invokeChannel('probeImage'), ['/a.img']],
      [invokeChannel('setSettings'), [{ eject: true }]],
      [invokeChannel('cancel'), ['j1']],
      [invokeChannel('listDrives'), []],
    ]);
  });

  it('hands listeners the payload only, and unsubscribes', () => {
    const { ipc, emit, count } = fakeIpc();
    const api = createPreloadApi(ipc, { getPathForFile: () => '' });
    const seen: unknown[][] = [];
    const off = api.onFlashEvent((...args: unknown[]) => void seen.push(args));
    const event: FlashEvent = { type: 'error', jobId: 'j', error: { code: 'CANCELLED', message: 'x' } };
    emit(API_EVENTS.flash, event);
    expect(seen).toEqual([[event]]);
    off();
    expect(count(API_EVENTS.flash)).toBe(0);
    emit(API_EVENTS.flash, event);
    expect(seen).toHaveLength(1);
  });

  it('is built from the contract: every invoke method on its own channel, every listener, pathForFile', async () => {
    const { ipc, invoked } = fakeIpc();
    const api = createPreloadApi(ipc, { getPathForFile: () => '' });
    expect(Object.keys(api).sort()).toEqual([...API_INVOKE_METHODS, ...Object.values(API_EVENT_LISTENERS), 'pathForFile'].sort());
    await api.answerConfirm('q1', true);
    expect(invoked).toEqual([[invokeChannel('answerConfirm'), ['q1', true]]]);
  });

  it('never asks the page: onConfirm listens on no channel (main confirms in a native dialog)', () => {
    const { ipc, emit, count } = fakeIpc();
    const api = createPreloadApi(ipc, { getPathForFile: () => '' });
    const seen: unknown[] = [];
    const off = api.onConfirm((request) => seen.push(request));
    expect(count(API_EVENTS.confirm)).toBe(0);
    emit(API_EVENTS.confirm, { id: 'q', title: 'Erase drive?', message: 'm', detail: 'd', confirmLabel: 'Erase', danger: true });
    expect(seen).toEqual([]);
    off();
  });

  it('pathForFile returns the path, or null when Electron has none', () => {
    const { ipc } = fakeIpc();
    const file = {} as File;
    expect(createPreloadApi(ipc, { getPathForFile: () => '/home/u/os.img' }).pathForFile(file)).toBe('/home/u/os.img');
    expect(createPreloadApi(ipc, { getPathForFile: () => '' }).pathForFile(file)).toBeNull();
    expect(createPreloadApi(ipc, { getPathForFile: () => { throw new Error('not a File'); } }).pathForFile(file)).toBeNull();
  });
});

describe('flash feedback', () => {
  const report = (status: FlashReport['status']) => ({ status, cards: [{ status }], summary: { cards: 1 } }) as unknown as BatchReport;
  const progress = (bytesDone: number, bytesTotal: number): FlashEvent => ({
    type: 'progress', jobId: 'j', device: '/dev/sdb', progress: { phase: 'writing', bytesDone, bytesTotal, speed: 0, etaSeconds: null, retries: 0, rangeChanges: [] },
  });

  it('drives the taskbar progress and clears it at the end, notifying once', async () => {
    const bars: [number, string | undefined][] = [];
    const notes: string[] = [];
    const feedback = createFlashFeedback(
      () => ({ setProgressBar: (p, o) => void bars.push([p, o?.mode]) }),
      (title) => void notes.push(title),
    );
    feedback.handle({ type: 'started', jobId: 'j', layout: { imageSize: 1, blockSize: 4096, mappedBytes: 1, ranges: [] }, targets: [] });
    feedback.handle(progress(50, 200));
    expect(feedback.activeJobs()).toEqual(['j']);
    feedback.handle({ type: 'done', jobId: 'j', report: report('verified') });
    expect(bars).toEqual([[0, 'normal'], [0.25, 'normal'], [-1, 'none']]);
    expect(notes).toEqual(['Flash complete']);
    expect(feedback.activeJobs()).toEqual([]);
  });

  it('shows a failure in the bar and in the message', () => {
    const bars: [number, string | undefined][] = [];
    const feedback = createFlashFeedback(() => ({ setProgressBar: (p, o) => void bars.push([p, o?.mode]) }), () => undefined);
    feedback.handle({ type: 'error', jobId: 'j', error: { code: 'ELEVATION_REFUSED', message: 'Administrator rights were not granted.' } });
    expect(bars).toEqual([[1, 'error']]);
    expect(endMessage({ type: 'error', jobId: 'j', error: { code: 'ELEVATION_REFUSED', message: 'No.' } }).body).toContain('administrator rights');
    expect(endMessage({ type: 'done', jobId: 'j', report: report('cancelled') }).title).toBe('Flash cancelled');
  });
});
