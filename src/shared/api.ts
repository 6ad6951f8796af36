/**
 * The one Api contract between the renderer and the main side. The Electron preload, the browser host's
 * WebSocket client and tests all implement it; the renderer talks to nothing else (`window.sureflash`).
 */
import type { ChecksumInfo, ImageOrigin, SignatureInfo } from './authenticity';
import type { ChecksumType } from './bmap';
import type { CardSummary, FlashRow } from './history-types';
import type { CardIdentity } from './identity';
import type { BatchReport, Compression, FlashLayout, FlashProgress, FlashReport } from './report';
import type { ApiError, Result } from './result';
import type { StationEvent, StationOptions, StationStatus } from './station';

/** Facts about one drive as enumerated by main (drivelist), before any verdict. */
export interface DriveInfo {
  device: string;
  /** Raw device path to write to (same as device on Linux). */
  raw: string;
  description: string;
  size: number | null;
  isSystem: boolean;
  isRemovable: boolean;
  isReadOnly: boolean;
  isVirtual: boolean;
  isCard: boolean;
  isUSB: boolean;
  /** Loop devices: only listed when the app runs with an explicit test option. */
  isLoop: boolean;
  busType: string;
  mountpoints: string[];
  /** Physical location (USB port / slot path) when known. */
  location?: string | null;
  /** Who the card is (vendor, model, serial, CID), when main could read it. */
  identity?: CardIdentity | null;
}

export interface BmapInfo {
  path: string;
  version: string;
  checksumType: ChecksumType | null;
  imageSize: number;
  blockSize: number;
  mappedBytes: number;
  rangesCount: number;
}

/** What main learned about an image before flashing. */
export interface ImageInfo {
  path: string;
  name: string;
  /** Size of the file on disk (compressed size for compressed images). */
  fileSize: number;
  compression: Compression;
  /** Uncompressed image size when known (bmap ImageSize, raw size, archive/frame header), else null. */
  imageSize: number | null;
  bmap: BmapInfo | null;
  /**
   * The partition table or filesystem the (decoded) image starts with: "gpt", "mbr", "iso9660", "ext4",
   * "fat32", "squashfs", ...; null when none was found (then `warnings` says the file may not be a disk image).
   */
  diskSignature: string | null;
  /** The image member's name when the image is inside a zip or tar archive. */
  member?: string | null;
  /** Plain-words warnings, e.g. "No bmap: the whole image is written". */
  warnings: string[];
  /** A local file or an http(s) URL (then `path` is the URL as given, `name` its last segment). */
  source: ImageOrigin;
  /** The bmap's signature: "Signed by …", or why it is not trusted (a flash refuses invalid / unknown-key). */
  signature: SignatureInfo;
  /** The image's published sha256 and where its check stands. */
  checksum: ChecksumInfo;
}

export type ThemeSetting = 'system' | 'light' | 'dark';

export interface Settings {
  readback: boolean;
  /** Rewrites per range on readback mismatch, MIN_RETRIES–MAX_RETRIES (shared/retry-limit.ts: 0–10). */
  retries: number;
  /** Read each part of the card first and write only the blocks that differ. */
  skipIdentical: boolean;
  /** Check the card's real capacity (counterfeit cards) before writing. */
  probe: boolean;
  eject: boolean;
  notifications: boolean;
  theme: ThemeSetting;
  /** Most bytes the download cache keeps for URL images (least recently used go first); 0 turns it off. */
  cacheLimitBytes: number;
}

/** 8 GiB: a few OS images. */
export const DEFAULT_CACHE_LIMIT_BYTES = 8 * 1024 ** 3;

export const DEFAULT_SETTINGS: Settings = {
  readback: true,
  retries: 3,
  skipIdentical: false,
  probe: true,
  eject: false,
  notifications: true,
  theme: 'system',
  cacheLimitBytes: DEFAULT_CACHE_LIMIT_BYTES,
};

/** Most drives one job may write at once. */
export const MAX_TARGETS = 16;

export interface FlashRequest {
  /** "copy" writes (default); "verify" only reads the drives and compares them with the image. */
  mode?: 'copy' | 'verify';
  /** An absolute path or an http(s) URL. */
  imagePath: string;
  /** Explicit bmap path or URL; omitted = discover next to the image; null = write without bmap. */
  bmapPath?: string | null;
  /** The drives to write, each as main listed it (1 to MAX_TARGETS). */
  devices: string[];
  readback: boolean;
  retries: number;
  skipIdentical?: boolean;
  probe?: boolean;
  /** Warning codes (drive rules) the user explicitly confirmed, e.g. large or system drive. */
  acknowledged: string[];
}

/** A card in a running job, as the job started. */
export interface JobTarget {
  device: string;
  description: string;
  size: number | null;
  identity: CardIdentity | null;
}

/**
 * Events of one job over one or more cards: `progress` and `target-done` name their card; `done` carries
 * the batch report once every card has finished; `error` ends a job that could not produce one.
 */
export type FlashEvent =
  | { type: 'started'; jobId: string; layout: FlashLayout; targets: JobTarget[] }
  | { type: 'progress'; jobId: string; device: string; progress: FlashProgress }
  | { type: 'target-done'; jobId: string; device: string; report: FlashReport }
  | { type: 'done'; jobId: string; report: BatchReport }
  | { type: 'error'; jobId: string; error: ApiError };

/** Facts for the About view. */
export interface AppInfo {
  version: string;
  platform: string;
  /** Where settings, history and logs are kept. */
  dataDir: string;
  /** Where reports are saved by default, when there is such a place. */
  reportsDir: string | null;
  logFile: string | null;
}

export type Unsubscribe = () => void;

/**
 * What the GUI arms a station with: StationOptions without what a page must not choose (a log file to
 * append to, key files): main logs each session into the app's data folder and checks the image as a flash does.
 */
export type StationRequest = Pick<StationOptions, 'imagePath' | 'retries' | 'skipIdentical' | 'readback' | 'probe' | 'maxCards' | 'slots' | 'maxSizeBytes'> & {
  /** Explicit bmap path; omitted = discover next to the image; null = write without bmap. */
  bmapPath?: string | null;
};

/** Most cards a station flashes at once. */
export const MAX_STATION_CARDS = MAX_TARGETS;
/** Most slots a station may be restricted to. */
export const MAX_STATION_SLOTS = 64;

/** One card's past, as the history database holds it: what its flashes add up to, and each flash, oldest first. */
export interface CardHistory {
  summary: CardSummary;
  flashes: FlashRow[];
}

/** Most cards `historyCards` returns (latest flashed first). */
export const MAX_HISTORY_CARDS = 500;

/**
 * A question main asks the user before it acts, e.g. "Erase this drive?" before a flash. The Electron shell
 * asks it natively and never sends one; the browser host pushes it to the page that asked to flash and
 * waits for `answerConfirm` (no answer in time is a refusal).
 */
export interface ConfirmRequest {
  id: string;
  title: string;
  message: string;
  detail: string;
  /** Label of the button that accepts (the other one is "Cancel"). */
  confirmLabel: string;
  /** Accepting destroys data: the page styles it as dangerous and focuses "Cancel" first. */
  danger: boolean;
}

export interface Api {
  listDrives(): Promise<Result<DriveInfo[]>>;
  onDrives(listener: (drives: DriveInfo[]) => void): Unsubscribe;
  /** Opens the OS file dialog (or the browser host's stand-in); null when the user cancelled. */
  pickImage(): Promise<Result<ImageInfo | null>>;
  probeImage(path: string): Promise<Result<ImageInfo>>;
  getSettings(): Promise<Result<Settings>>;
  setSettings(patch: Partial<Settings>): Promise<Result<Settings>>;
  flash(request: FlashRequest): Promise<Result<{ jobId: string }>>;
  /** Cancels the whole job, or only one of its cards when `device` is given. */
  cancel(jobId: string, device?: string): Promise<Result<null>>;
  /** Asks where to save the job's (batch) report and writes it; null when the user cancelled. */
  saveReport(jobId: string): Promise<Result<string | null>>;
  onFlashEvent(listener: (event: FlashEvent) => void): Unsubscribe;
  /** Questions main asks before it acts (browser host only; the Electron shell asks natively). */
  onConfirm(listener: (request: ConfirmRequest) => void): Unsubscribe;
  /** Answers a ConfirmRequest once; a second answer or an unknown id is refused. */
  answerConfirm(id: string, accepted: boolean): Promise<Result<null>>;
  /** Path of a dropped file (Electron: webUtils.getPathForFile); null where the host cannot know it. */
  pathForFile(file: File): string | null;
  getAppInfo(): Promise<Result<AppInfo>>;
  /**
   * Arms station mode on an image: every drive present now is never touched; every drive inserted afterwards
   * that the drive rules allow is flashed, proven and recorded. Main asks the user first (natively, or in the
   * page through onConfirm).
   */
  armStation(request: StationRequest): Promise<Result<StationStatus>>;
  /** Stops taking cards and lets the running ones finish; with `cancel`, also cancels the running ones. */
  stopStation(cancel?: boolean): Promise<Result<StationStatus>>;
  /** Cancels one running card of the station (its number in the session); the station goes on. */
  cancelStationCard(card: number): Promise<Result<null>>;
  /** The station as it is now (idle when never armed): a page starts from this, then follows onStationEvent. */
  stationStatus(): Promise<Result<StationStatus>>;
  onStationEvent(listener: (event: StationEvent) => void): Unsubscribe;
  /** The cards the history holds, latest flashed first (at most MAX_HISTORY_CARDS); empty when nothing was recorded. */
  historyCards(): Promise<Result<CardSummary[]>>;
  /** One card's history by its card id (or the unique start of one); null when the history has no such card. */
  cardHistory(cardId: string): Promise<Result<CardHistory | null>>;
}

/** Request/response methods of the Api, in one list: the preload, the browser host and main's wrapper use it. */
export const API_INVOKE_METHODS = [
  'listDrives',
  'pickImage',
  'probeImage',
  'getSettings',
  'setSettings',
  'flash',
  'cancel',
  'saveReport',
  'getAppInfo',
  'answerConfirm',
  'historyCards',
  'cardHistory',
  'armStation',
  'stopStation',
  'cancelStationCard',
  'stationStatus',
] as const;
export type ApiInvokeMethod = (typeof API_INVOKE_METHODS)[number];

/** Push channels from main to the renderer. */
export const API_EVENTS = {
  drives: 'sureflash:drives',
  flash: 'sureflash:flash-event',
  confirm: 'sureflash:confirm',
  station: 'sureflash:station-event',
} as const;
export type ApiEvent = keyof typeof API_EVENTS;

/** What each push event carries. */
export interface ApiEventPayloads {
  drives: DriveInfo[];
  flash: FlashEvent;
  confirm: ConfirmRequest;
  station: StationEvent;
}

/** The Api method that subscribes to each push event. */
export const API_EVENT_LISTENERS = { drives: 'onDrives', flash: 'onFlashEvent', confirm: 'onConfirm', station: 'onStationEvent' } as const;

/** Channel name of an invoke method (Electron ipc). */
export const invokeChannel = (method: ApiInvokeMethod): string => `sureflash:${method}`;
