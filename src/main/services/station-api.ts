/**
 * The station as the Api offers it to a window: arming asks main's question first (natively, or in the
 * page), then arms the station service with what a page may choose; main picks the log file (one JSON
 * line per card, in the app's data folder, one file per day). Stop, cancel and the status pass through.
 */
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DriveInfo, StationRequest, Unsubscribe } from '../../shared/api';
import type { StationEvent, StationOptions, StationStatus } from '../../shared/station';
import { EngineError } from '../engine/errors';
import type { StationService } from '../station/types';

/** What a window may do with the station. */
export interface StationApi {
  arm(request: StationRequest): Promise<StationStatus>;
  stop(cancel: boolean): StationStatus;
  cancelCard(card: number): void;
  status(): StationStatus;
  subscribe(listener: (event: StationEvent) => void): Unsubscribe;
}

export interface StationApiDeps {
  station: StationService;
  /** The drives present now (for the question: they will never be touched). */
  listDrives(): Promise<DriveInfo[]>;
  /** Main's question before arming; absent: no question (tests). */
  confirm?(request: StationRequest, imageName: string, present: DriveInfo[]): Promise<boolean>;
  /** Folder of the station logs (null: no log file). */
  logDir: string | null;
  /** Longest a card may take to answer one operation (ms), when the host sets one. */
  ioTimeoutMs?: number;
  now?(): Date;
}

/** The station before it was ever armed. */
export const IDLE_STATION: StationStatus = { state: 'idle', sessionId: null, station: null, options: null, image: null, untouched: [], cards: [], summary: null };

/** A StationApi for builds and tests without a station: always idle, arming is refused. */
export function unavailableStationApi(): StationApi {
  return {
    arm: async () => {
      throw new EngineError('USAGE', 'Station mode is not available here.');
    },
    stop: () => IDLE_STATION,
    cancelCard: () => undefined,
    status: () => IDLE_STATION,
    subscribe: () => () => undefined,
  };
}

/** The log file of a day: station-2026-12-06.jsonl. */
export function stationLogFile(logDir: string, now: Date): string {
  return join(logDir, `station-${now.toISOString().slice(0, 10)}.jsonl`);
}

export function createStationApi(deps: StationApiDeps): StationApi {
  const now = deps.now ?? (() => new Date());
  return {
    async arm(request) {
      const state = deps.station.status().state;
      if (state === 'armed' || state === 'stopping' || state === 'cancelling') {
        throw new EngineError('USAGE', 'The station is already armed: stop it before arming it again.');
      }
      if (deps.confirm && !(await deps.confirm(request, basename(request.imagePath), await deps.listDrives()))) {
        throw new EngineError('NOT_CONFIRMED', 'The station was not armed: nothing will be written.');
      }
      // No folder for the log: the station still runs and records the history (the log file is a copy).
      const logDir = deps.logDir === null ? null : await mkdir(deps.logDir, { recursive: true, mode: 0o700 }).then(() => deps.logDir, () => null);
      const options: StationOptions = {
        imagePath: request.imagePath,
        retries: request.retries,
        skipIdentical: request.skipIdentical,
        readback: request.readback,
        probe: request.probe,
        maxCards: request.maxCards,
        slots: request.slots,
        maxSizeBytes: request.maxSizeBytes,
        logFile: logDir === null ? null : stationLogFile(logDir, now()),
        ...(request.bmapPath !== undefined ? { bmapPath: request.bmapPath } : {}),
        ...(deps.ioTimeoutMs !== undefined ? { ioTimeoutMs: deps.ioTimeoutMs } : {}),
      };
      return deps.station.arm(options);
    },
    stop: (cancel) => deps.station.stop({ cancel }),
    cancelCard: (card) => deps.station.cancelCard(card),
    status: () => deps.station.status(),
    subscribe: (listener) => deps.station.subscribe(listener),
  };
}
