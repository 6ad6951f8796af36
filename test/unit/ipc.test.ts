import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IpcMainInvokeEvent, WebFrameMain } from 'electron';
import { afterAll, describe, expect, it } from 'vitest';
import { API_EVENTS, API_INVOKE_METHODS, DEFAULT_SETTINGS, invokeChannel, type DriveInfo, type FlashEvent } from '../../src/shared/api';
import { createApiCore, NOT_WAITING_MESSAGE } from '../../src/main/services/api-core';
import { API_ARGS } from '../../src/main/services/api-validation';
import { isRendererUrl, registerApi, trustedSenderCheck, type TrustedWindow } from '../../src/main/app/register-api';
import { pushEvents } from '../../src/main/app/push-events';
import { unavailableStationApi } from '../../src/main/services/station-api';
import { createSettingsService } from '../../src/main/services/settings-service';
import type { MainServices } from '../../src/main/services/types';
import type { StationEvent } from '../../src/shared/station';

// The only fake here is Electron itself: ipcMain, frames and windows are plain objects with the same shape.
const dir = mkdtempSync(join(tmpdir(), 'sureflash-ipc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const RENDERER = 'file:///opt/Sureflash/resources/app.asar/dist/renderer/index.html';

type Handler = (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown;
function fakeIpcMain() {
  const handlers = new Map<string, Handler>();
  return {
    handlers,
    handle: (channel: string, handler: Handler) => {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`);
      handlers.set(channel, handler);
    },
    removeHandler: (channel: string) => void handlers.delete(channel),
  };
}
const frame = (url: string) => ({ url }) as unknown as WebFrameMain;
const mainFrame = frame(`${RENDERER}#/flash`);
const win: TrustedWindow & { destroyed: boolean } = {
  destroyed: false,
  isDestroyed: () => win.destroyed,
  webContents: { id: 7, mainFrame },
};
const event = (senderFrame: WebFrameMain | null, senderId = 7) => ({ senderFrame, sender: { id: senderId } }) as unknown as IpcMainInvokeEvent;

function services(): MainServices & { emitDrives(d: DriveInfo[]): void; emitFlash(e: FlashEvent): void; emitStation(e: StationEvent): void } {
  const driveListeners = new Set<(d: DriveInfo[]) => void>();
  const flashListeners = new Set<(e: FlashEvent) => void>();
  const stationListeners = new Set<(e: StationEvent) => void>();
  return {
    app: { info: async () => ({ version: '0', platform: 'linux', dataDir: dir, reportsDir: null, logFile: null }) },
    drives: { list: async () => [], subscribe: (l) => (driveListeners.add(l), () => void driveListeners.delete(l)) },
    images: { probe: async () => Promise.reject(new Error('unused')) },
    settings: createSettingsService(mkdtempSync(join(dir, 's-'))),
    flash: {
      start: async () => ({ jobId: 'j' }),
      cancel: () => undefined,
      report: () => null,
      subscribe: (l) => (flashListeners.add(l), () => void flashListeners.delete(l)),
    },
    history: { cards: async () => [], card: async () => null },
    station: { ...unavailableStationApi(), subscribe: (l) => (stationListeners.add(l), () => void stationListeners.delete(l)) },
    emitStation: (e) => stationListeners.forEach((l) => l(e)),
    emitDrives: (d) => driveListeners.forEach((l) => l(d)),
    emitFlash: (e) => flashListeners.forEach((l) => l(e)),
  };
}

function setup() {
  const ipc = fakeIpcMain();
  const rejected: (string | null)[] = [];
  const core = createApiCore(services(), { pickImage: async () => null, saveReportPath: async () => null });
  const unregister = registerApi(ipc, core, {
    isTrustedSender: trustedSenderCheck(() => win, RENDERER),
    onRejected: (_channel, url) => rejected.push(url),
  });
  return { ipc, rejected, unregister };
}

describe('registerApi', () => {
  it('registers one handler per invoke channel and removes them again', () => {
    const { ipc, unregister } = setup();
    expect([...ipc.handlers.keys()].sort()).toEqual(API_INVOKE_METHODS.map(invokeChannel).sort());
    unregister();
    expect(ipc.handlers.size).toBe(0);
  });

  it('validates the arguments of every method, answerConfirm included, and refuses every answer (main asks natively)', async () => {
    const { ipc } = setup();
    for (const method of API_INVOKE_METHODS) {
      const handler = ipc.handlers.get(invokeChannel(method))!;
      const result = (await handler(event(mainFrame), ...Array(API_ARGS[method].length + 1).fill('x'))) as { ok: boolean; error: { code: string } };
      expect(result, method).toMatchObject({ ok: false, error: { code: 'USAGE' } });
    }
    const answer = ipc.handlers.get(invokeChannel('answerConfirm'))!;
    expect(await answer(event(mainFrame), 'q1', 'yes')).toMatchObject({ ok: false, error: { code: 'USAGE', message: expect.stringMatching(/^Invalid accepted/) } });
    expect(await answer(event(mainFrame), 'q1', true)).toMatchObject({ ok: false, error: { code: 'USAGE', message: NOT_WAITING_MESSAGE } });
    expect(await answer(event(null), 'q1', true)).toMatchObject({ ok: false, error: { code: 'PERMISSION_DENIED' } });
  });

  it('answers our main frame through the api core, arguments validated there', async () => {
    const { ipc } = setup();
    const get = ipc.handlers.get(invokeChannel('getSettings'))!;
    expect(await get(event(mainFrame))).toEqual({ ok: true, value: DEFAULT_SETTINGS });
    const set = ipc.handlers.get(invokeChannel('setSettings'))!;
    const bad = (await set(event(mainFrame), { retries: 'many' })) as { ok: boolean; error: { code: string } };
    expect(bad.error.code).toBe('USAGE');
  });

  it.each([
    ['no frame', event(null)],
    ['a subframe showing our page', event(frame(RENDERER))],
    ['another webContents', event(mainFrame, 8)],
  ])('refuses %s', async (_what, ev) => {
    const { ipc, rejected } = setup();
    const result = (await ipc.handlers.get(invokeChannel('setSettings'))!(ev, { eject: true })) as { ok: boolean; error: { code: string } };
    expect(result).toMatchObject({ ok: false, error: { code: 'PERMISSION_DENIED' } });
    expect(rejected).toHaveLength(1);
  });

  it('refuses our main frame once it navigated elsewhere, and a destroyed window', async () => {
    const { ipc } = setup();
    const navigated = { ...win, webContents: { id: 7, mainFrame: frame('https://example.com/') } };
    const check = trustedSenderCheck(() => navigated, RENDERER);
    expect(check(event(navigated.webContents.mainFrame))).toBe(false);
    win.destroyed = true;
    const result = (await ipc.handlers.get(invokeChannel('listDrives'))!(event(mainFrame))) as { ok: boolean };
    win.destroyed = false;
    expect(result.ok).toBe(false);
  });

  it('treats a throwing sender check as a refusal', async () => {
    const ipc = fakeIpcMain();
    const core = createApiCore(services(), { pickImage: async () => null, saveReportPath: async () => null });
    registerApi(ipc, core, { isTrustedSender: () => { throw new Error('boom'); } });
    const result = (await ipc.handlers.get(invokeChannel('listDrives'))!(event(mainFrame))) as { ok: boolean };
    expect(result.ok).toBe(false);
  });
});

describe('isRendererUrl', () => {
  it.each([
    [`${RENDERER}`, true],
    [`${RENDERER}?x=1#/done`, true],
    ['file:///opt/Sureflash/resources/app.asar/dist/renderer/other.html', false],
    ['file:///tmp/index.html', false],
    ['http://127.0.0.1:5173/index.html', false],
    ['not a url', false],
  ])('%s → %s', (url, expected) => {
    expect(isRendererUrl(url, RENDERER)).toBe(expected);
  });
});

describe('pushEvents', () => {
  it('sends drive lists and flash events to our window only while it lives, and stops on unsubscribe', () => {
    const sent: [string, unknown][] = [];
    let destroyed = false;
    const target = { isDestroyed: () => destroyed, webContents: { isDestroyed: () => false, send: (c: string, p: unknown) => void sent.push([c, p]) } };
    const s = services();
    const off = pushEvents(s, () => target);
    s.emitDrives([]);
    const flashEvent: FlashEvent = { type: 'error', jobId: 'j', error: { code: 'CANCELLED', message: 'x' } };
    s.emitFlash(flashEvent);
    const stationEvent: StationEvent = { type: 'waiting', sessionId: 's', running: 0, maxCards: 2 };
    s.emitStation(stationEvent);
    destroyed = true;
    s.emitDrives([]);
    destroyed = false;
    off();
    s.emitFlash(flashEvent);
    s.emitStation(stationEvent);
    expect(sent).toEqual([[API_EVENTS.drives, []], [API_EVENTS.flash, flashEvent], [API_EVENTS.station, stationEvent]]);
  });
});
