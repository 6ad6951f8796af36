/**
 * The main-side services, free of Electron, shared by the Electron ipc wrapper and the browser host.
 * Each transport only adds what it owns: who may call (sender frame / token) and the dialogs.
 */
import type { AppInfo, FlashEvent, FlashRequest, ImageInfo, Settings, Unsubscribe } from '../../shared/api';
import type { DriveService } from '../drives/drive-service';
import type { HistoryService } from './history-service';
import type { StationApi } from './station-api';
import type { BatchReport } from '../../shared/report';

// The drives room owns its service's shape; services wire it and re-export it for the transports.
export type { DriveService } from '../drives/drive-service';
export type { HistoryService } from './history-service';
export type { StationApi } from './station-api';

export interface ImageService {
  probe(path: string): Promise<ImageInfo>;
}

export interface SettingsService {
  get(): Promise<Settings>;
  set(patch: Partial<Settings>): Promise<Settings>;
}

export interface FlashService {
  /** Validates the request against a fresh drive enumeration and the drive rules, then starts the job. */
  start(request: FlashRequest): Promise<{ jobId: string }>;
  /** Cancels the whole job, or only its card `device`. */
  cancel(jobId: string, device?: string): void;
  /** The final (batch) report of a finished job, null while running or unknown. */
  report(jobId: string): BatchReport | null;
  subscribe(listener: (event: FlashEvent) => void): Unsubscribe;
  /** Ids of jobs accepted and not yet ended (the shell confirms before quitting while any run). */
  running?(): string[];
}

/** What differs per host: the OS dialogs (Electron) or their stand-ins (browser host, tests). */
export interface Dialogs {
  /** Returns the chosen image path, or null when cancelled. */
  pickImage(): Promise<string | null>;
  /** Returns where to save a report, or null when cancelled. */
  saveReportPath(defaultName: string): Promise<string | null>;
}

export interface AppInfoService {
  info(): Promise<AppInfo>;
}

export interface MainServices {
  app: AppInfoService;
  drives: DriveService;
  images: ImageService;
  settings: SettingsService;
  flash: FlashService;
  /** The flash history (cards the station recorded), read-only. */
  history: HistoryService;
  /** Station mode: one session at a time, armed from a window. */
  station: StationApi;
}
