/**
 * The station service's face: what the CLI (`sureflash station`) and main's Api (the GUI's "Station mode")
 * call, and what they hand it. The service runs without Electron; the events and the state it reports are
 * the pure types of src/shared/station.ts.
 */
import type { DriveInfo, ImageInfo, Unsubscribe } from '../../shared/api';
import type { CardIdentity } from '../../shared/card-identity';
import type { BatchReport } from '../../shared/report';
import type { StationEvent, StationOptions, StationStatus, StationSummary } from '../../shared/station';
import type { EngineJobHandlers } from '../engine/worker-client';
import type { FlashJob } from '../engine/protocol';
import type { ImageAuthOptions } from '../engine/image-options';
import type { FlashHistory } from '../history/flash-recorder';

/** One session at a time: arm, then cards come and go, then stop. */
export interface StationService {
  /**
   * Arms the station: checks the image (format, bmap parsed, signature and sha256 as `sureflash copy`
   * checks them), takes note of every drive present now (never touched in this session) and starts watching
   * the drive list. Rejects with a coded error (EngineError: USAGE, IMAGE_*, BMAP_*, SIGNATURE_*,
   * CHECKSUM_MISMATCH, …) when a check fails or a session is still running; nothing is armed then.
   */
  arm(options: StationOptions): Promise<StationStatus>;
  /**
   * Stops taking cards; the running ones finish (state "stopping"). A second call, or `cancel: true`, cancels
   * the running cards (state "cancelling"). The session ends ("stopped" event) once no card runs.
   */
  stop(options?: { cancel?: boolean }): StationStatus;
  /** Cancels one running card (by its number in the session); the station goes on. */
  cancelCard(card: number): void;
  /** The whole state now (a new window starts from this, then follows the events). */
  status(): StationStatus;
  subscribe(listener: (event: StationEvent) => void): Unsubscribe;
  /** Resolves with the summary when the current session has stopped (at once when none runs: the last one's, or null). */
  whenStopped(): Promise<StationSummary | null>;
}

/** A running engine job (the worker in this process, or the elevated helper). */
export interface StationEngineRun {
  cancel(target?: number): void;
  readonly done: Promise<BatchReport>;
}

/** Everything the station needs from the house, passed in (the CLI and main wire them differently). */
export interface StationServiceDeps {
  /** A fresh enumeration of the drives (with loop devices only when the host allows them). */
  listDrives(): Promise<DriveInfo[]>;
  /** The image probe (format, size, bmap parsed and checked, signature, sha256). */
  probeImage(path: string, options: { bmapPath?: string | null; auth?: ImageAuthOptions }): Promise<ImageInfo>;
  /** Who the card in `device` is; `fingerprint`: also read its first and last MiB. Null when it cannot be read. */
  identify(device: string, fingerprint: boolean): Promise<CardIdentity | null>;
  /** Unmounts every filesystem of the drive before it is written. */
  unmount(drive: DriveInfo): Promise<void>;
  /** Runs one engine job (one card: the station starts a job per card, so a later card never waits). */
  runEngine(job: FlashJob, handlers: EngineJobHandlers): StationEngineRun;
  /** The flash history (null: none is kept); a failing write is reported and changes no verdict. */
  history: FlashHistory | null;
  /**
   * What tells a medium from the one before in the same device (Linux: /sys/block/NAME/diskseq, which
   * grows on every media change), so a card swapped between two polls is still seen as new. Null: unknown.
   */
  mediaKey?(device: string): Promise<string | null>;
  /** Appends one line to the log file (default: fs appendFile). */
  appendLog?(file: string, line: string): Promise<void>;
  /** The default station name (default: the host name). */
  stationName?: string;
  /** Pause between two polls of the drive list (default 1000 ms). */
  pollIntervalMs?: number;
  log?(level: 'info' | 'warn' | 'error', message: string): void;
}
