/**
 * A scripted Api installed in the page before the renderer starts (Playwright addInitScript), for screens
 * main cannot produce yet: several cards in one job (main answers USAGE for more than one drive today).
 * The page is still the real built renderer served by the browser host; only its Api is replaced.
 * The function runs in the browser: it must not close over anything.
 */
import type { Page } from 'playwright-core';
import type { AppInfo, DriveInfo, FlashEvent, FlashRequest, ImageInfo, Settings } from '../../src/shared/api';
import type { StationEvent } from '../../src/shared/station';

export interface Scenario {
  drives: DriveInfo[];
  image: ImageInfo;
  settings: Settings;
  appInfo: AppInfo;
}

interface ScriptedWindow {
  sureflash?: unknown;
  __scripted?: { push(event: FlashEvent): void; pushDrives(drives: DriveInfo[]): void; pushStation(event: StationEvent): void; requests: FlashRequest[] };
}

/** Runs in the page: defines window.sureflash over the scenario and window.__scripted to drive it. */
function install(scenario: Scenario): void {
  const w = window as unknown as ScriptedWindow;
  const driveListeners = new Set<(drives: DriveInfo[]) => void>();
  const flashListeners = new Set<(event: FlashEvent) => void>();
  const stationListeners = new Set<(event: StationEvent) => void>();
  let settings = { ...scenario.settings };
  const requests: FlashRequest[] = [];
  const ok = <T>(value: T) => Promise.resolve({ ok: true as const, value });
  w.__scripted = {
    push: (event) => flashListeners.forEach((l) => l(event)),
    pushDrives: (drives) => driveListeners.forEach((l) => l(drives)),
    pushStation: (event) => stationListeners.forEach((l) => l(event)),
    requests,
  };
  w.sureflash = {
    listDrives: () => ok(scenario.drives),
    onDrives: (l: (drives: DriveInfo[]) => void) => {
      driveListeners.add(l);
      return () => driveListeners.delete(l);
    },
    pickImage: () => ok(scenario.image),
    probeImage: (path: string) => ok({ ...scenario.image, path, name: path.split('/').pop() ?? path }),
    getSettings: () => ok(settings),
    setSettings: (patch: Partial<Settings>) => {
      settings = { ...settings, ...patch };
      return ok(settings);
    },
    flash: (request: FlashRequest) => {
      requests.push(request);
      return ok({ jobId: 'job-1' });
    },
    cancel: () => ok(null),
    saveReport: () => ok('/home/user/Documents/sureflash-report-2026-01-01.json'),
    onFlashEvent: (l: (event: FlashEvent) => void) => {
      flashListeners.add(l);
      return () => flashListeners.delete(l);
    },
    pathForFile: () => null,
    getAppInfo: () => ok(scenario.appInfo),
    // Station mode: never armed by a call here (test/e2e/station.test.ts runs it against main); pushStation plays its events.
    stationStatus: () => ok({ state: 'idle', sessionId: null, station: null, options: null, image: null, untouched: [], cards: [], summary: null }),
    onStationEvent: (l: (event: StationEvent) => void) => {
      stationListeners.add(l);
      return () => stationListeners.delete(l);
    },
    armStation: () => Promise.resolve({ ok: false as const, error: { code: 'USAGE', message: 'Station mode is not scripted here.' } }),
    stopStation: () => ok({ state: 'idle', sessionId: null, station: null, options: null, image: null, untouched: [], cards: [], summary: null }),
    cancelStationCard: () => ok(null),
    historyCards: () => ok([]),
    cardHistory: () => ok(null),
    // Main's in-page questions: this scripted host never asks one.
    onConfirm: () => () => undefined,
    answerConfirm: () => ok(null),
  };
}

/** Installs the scripted Api in `page` for every navigation from now on. */
export async function useScriptedApi(page: Page, scenario: Scenario): Promise<void> {
  await page.addInitScript(install, scenario);
}

/** Pushes flash events into the page as main would. */
export async function pushEvents(page: Page, events: FlashEvent[]): Promise<void> {
  await page.evaluate((list) => {
    const scripted = (window as unknown as ScriptedWindow).__scripted;
    if (!scripted) throw new Error('the scripted Api is not installed');
    for (const event of list) scripted.push(event);
  }, events);
}

/** Pushes station events into the page as main would. */
export async function pushStationEvents(page: Page, events: StationEvent[]): Promise<void> {
  await page.evaluate((list) => {
    const scripted = (window as unknown as ScriptedWindow).__scripted;
    if (!scripted) throw new Error('the scripted Api is not installed');
    for (const event of list) scripted.pushStation(event);
  }, events);
}

/** The flash requests the page sent. */
export function scriptedRequests(page: Page): Promise<FlashRequest[]> {
  return page.evaluate(() => (window as unknown as ScriptedWindow).__scripted?.requests ?? []);
}
