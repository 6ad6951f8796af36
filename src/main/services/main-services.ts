/**
 * Wires the main-side services from their parts: drives (enumeration, polling, unmount, eject), the image
 * probe, settings in the user data folder, and the flash service with the engine worker and the launcher of
 * the privileged helper. Electron-free: the Electron shell and the browser host both call this.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { createDriveService } from '../drives/drive-service';
import { listDrives } from '../drives/list-drives';
import { ejectDrive, unmountDrive } from '../drives/unmount';
import { identifyMediumWithin, mediaSequence } from '../drives/card-media';
import { pinDevice } from '../engine/device/device-pin';
import { EngineError } from '../engine/errors';
import { DEFAULT_IO_TIMEOUT_MS } from '../engine/protocol';
import { probeImage } from '../engine/probe';
import { startEngineJob } from '../engine/worker-client';
import { historyFile } from '../history/data-dir';
import { createFlashHistory } from '../history/flash-recorder';
import { createStationService } from '../station/station-service';
import type { StationEngineRun, StationService } from '../station/types';
import { launchHelper, type ElevatedLauncher } from '../privilege/run-elevated';
import { createFlashService, type EngineRun } from './flash-service';
import { createCacheService, type CacheService } from './cache-service';
import { createSettingsService } from './settings-service';
import { createHistoryService } from './history-service';
import { createStationApi } from './station-api';
import { join } from 'node:path';
import type { DriveInfo, ImageInfo, StationRequest } from '../../shared/api';
import type { MainServices } from './types';
import { VERSION } from '../version';

export type LogLevel = 'info' | 'warn' | 'error';

export interface MainServicesOptions {
  /** List loop devices as drives (tests and demos only: `--allow-loop`). */
  allowLoop: boolean;
  /** List (and so allow flashing) loop devices only: the browser host running as root. */
  onlyLoopDevices?: boolean;
  /** Where settings.json lives (Electron: app.getPath('userData')). */
  userDataDir: string;
  /** Longest a card may take to answer one operation before it counts as stalled (default: the engine's). */
  ioTimeoutMs?: number;
  /** Where reports are saved by default (shown in the About view). */
  reportsDir?: string | null;
  /** The log file, when the host keeps one. */
  logFile?: string | null;
  /** Pause between drive polls while someone listens. */
  driveIntervalMs?: number;
  log?(level: LogLevel, message: string): void;
  /** How the elevated helper is started (default: the OS prompt through sudo-prompt). */
  launchElevated?: ElevatedLauncher;
  /** Whether a device is writable without elevation (default: fs.access W_OK); tests force the helper path. */
  canWrite?(device: string): Promise<boolean>;
  /** Main's confirmation before a drive is erased (Electron: a native dialog); absent in the browser host. */
  confirmFlash?(drives: DriveInfo[], image: ImageInfo, mode: 'copy' | 'verify'): Promise<boolean>;
  /** Main's question before the station is armed (Electron: a native dialog; the browser host: in the page). */
  confirmStation?(request: StationRequest, imageName: string, present: DriveInfo[]): Promise<boolean>;
  /** Record every flash in the history (userDataDir/history.sqlite); default true. */
  history?: boolean;
  /** Pause between the station's drive polls (default 1 s). */
  stationIntervalMs?: number;
}

/**
 * A run that starts once `start` resolves (the choice between this process and the elevated helper is
 * asynchronous); a cancel before that is passed on when it starts.
 */
function deferredRun(start: Promise<EngineRun>): StationEngineRun {
  const cancels: (number | undefined)[] = [];
  let run: EngineRun | null = null;
  const done = start.then((started) => {
    run = started;
    for (const target of cancels) started.cancel(target);
    return started.done;
  });
  return {
    cancel: (target) => (run ? run.cancel(target) : void cancels.push(target)),
    done,
  };
}

/** True when this process may open `device` for writing without elevation. */
export async function canWriteDevice(device: string): Promise<boolean> {
  try {
    await access(device, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export function createMainServices(options: MainServicesOptions): MainServices & { cache: CacheService; stationService: StationService } {
  const log = options.log ?? (() => undefined);
  const settings = createSettingsService(options.userDataDir);
  // One enumeration for the list the user sees and for the flash service's re-check before writing.
  const enumerate = async (): Promise<DriveInfo[]> => {
    const all = await listDrives({ allowLoop: options.allowLoop });
    return options.onlyLoopDevices === true ? all.filter((drive) => drive.isLoop) : all;
  };
  const drives = createDriveService({
    allowLoop: options.allowLoop,
    enumerate,
    intervalMs: options.driveIntervalMs,
    onError: (err) => log('warn', `drive poll failed: ${err instanceof Error ? err.message : String(err)}`),
  });
  const cache = createCacheService(options.userDataDir, settings);
  const images = { probe: async (path: string) => probeImage(path, { cache: await cache.jobOptions() }) };
  const elevate = (file: string): Promise<void> => launchHelper(file, options.launchElevated ? { launch: options.launchElevated } : {});
  const canWrite = options.canWrite ?? canWriteDevice;
  const flashHistory = options.history === false ? null : createFlashHistory(historyFile(options.userDataDir));
  // A card that does not answer its fingerprint's reads is taken unidentified after the I/O time limit (the
  // engine then reports it stalled), instead of holding its flash back forever.
  const identifyWithin = options.ioTimeoutMs ?? DEFAULT_IO_TIMEOUT_MS;
  const identify = (device: string, fingerprint: boolean) =>
    identifyMediumWithin(device, fingerprint, identifyWithin, () =>
      log('warn', `${device} did not answer reading its fingerprint within ${Math.round(identifyWithin / 1000)} s: it is flashed unidentified`),
    );
  const flash = createFlashService({
    listDrives: enumerate,
    probeImage: images.probe,
    cacheOptions: () => cache.jobOptions(),
    ...(options.ioTimeoutMs !== undefined ? { ioTimeoutMs: options.ioTimeoutMs } : {}),
    // Windows: volumes are locked and dismounted by the process that writes (see drives/unmount.ts).
    unmount: (drive) => (process.platform === 'win32' ? Promise.resolve() : unmountDrive(drive)),
    eject: (drive) => ejectDrive(drive),
    settings,
    canWrite,
    pinDrive: pinDevice,
    elevate,
    runEngine: (job, handlers) => startEngineJob(job, handlers),
    ...(options.confirmFlash ? { confirm: options.confirmFlash } : {}),
    history: flashHistory,
    identify,
    log,
  });
  // The station: one engine job per card, in this process when it may write the card, else elevated.
  const stationService = createStationService({
    listDrives: enumerate,
    probeImage: async (path, probe) => probeImage(path, { ...probe, cache: null }),
    identify,
    mediaKey: (device) => mediaSequence(device),
    unmount: (drive) => (process.platform === 'win32' ? Promise.resolve() : unmountDrive(drive)),
    runEngine: (job, handlers) =>
      deferredRun(
        // A card this process cannot write is pinned now and served by the privileged helper, as a flash's is.
        Promise.all(job.targets.map(async (t) => ((await canWrite(t.path)) ? null : pinDevice(t.path, job.mode)))).then((pins) => {
          job.targets.forEach((t, i) => {
            const pin = pins[i];
            if (pin) t.elevated = pin;
          });
          return startEngineJob(job, {
            ...handlers,
            onElevate: (target, file) =>
              pins[target] ? elevate(file) : Promise.reject(new EngineError('TARGET_NOT_ALLOWED', `card ${target + 1} was not to be served by the helper`)),
          });
        }),
      ),
    history: flashHistory,
    ...(options.stationIntervalMs !== undefined ? { pollIntervalMs: options.stationIntervalMs } : {}),
    log,
  });
  const app = {
    info: async () => ({
      version: VERSION,
      platform: process.platform,
      dataDir: options.userDataDir,
      reportsDir: options.reportsDir ?? null,
      logFile: options.logFile ?? null,
    }),
  };
  const history = createHistoryService(options.userDataDir);
  // What a window may do with the station: main asks first, and logs each card into the day's file in the data folder.
  const station = createStationApi({
    station: stationService,
    listDrives: enumerate,
    logDir: join(options.userDataDir, 'station-logs'),
    ...(options.confirmStation ? { confirm: options.confirmStation } : {}),
    ...(options.ioTimeoutMs !== undefined ? { ioTimeoutMs: options.ioTimeoutMs } : {}),
  });
  return { app, drives, images, settings, flash, cache, history, station, stationService };
}
