/**
 * The typed message protocol between the engine worker thread and whoever runs it (main, the CLI). Every
 * message carries the job's `seq`; card events name their card by its index in `job.targets`; errors
 * cross serialized with a kind.
 */
import type { CardIdentity } from '../../shared/identity';
import type { PackedBatchReport, PackedFlashReport } from '../../shared/range-table';
import type { FlashLayout, FlashProgress } from '../../shared/report';
import type { DevicePin } from './device/device-pin';
import type { SerializedError } from './errors';
import type { ImageAuthOptions, ImageCacheOptions } from './image-options';

/** One card of a job. */
export interface TargetSpec {
  /** A block device or a regular file. */
  path: string;
  /** Who the card is (read from sysfs by the caller), carried into its report. */
  identity?: CardIdentity | null;
  /**
   * Open this card through the privileged helper (main found it not writable), pinned to the drive main
   * listed and the user confirmed. The worker asks its parent to start the helper ('elevate').
   */
  elevated?: DevicePin | null;
  /**
   * How an elevated card's I/O runs: 'descriptor' (the default) has the helper hand the opened, pinned drive's
   * descriptor to the engine, which checks it and does the I/O itself; 'served' has the helper run every batch
   * (also what happens when the native module is missing on either side). Tests and the benchmark choose.
   */
  elevatedIo?: 'descriptor' | 'served';
}

/** A validated job for the engine. Policy (which targets are allowed) is decided before this point. */
export interface FlashJob {
  mode: 'copy' | 'verify';
  /** A path, "-" for stdin, or an http(s) URL. */
  image: string;
  /** Explicit bmap file or URL; ignored when noBmap. */
  bmapPath?: string;
  /** Write/verify the whole image, ignoring any bmap. */
  noBmap?: boolean;
  /** The cards, 1 to 16: the image is read once and every card gets its own writer, readback and verdict. */
  targets: TargetSpec[];
  /** Read every written range back from the device (copy mode). */
  readback: boolean;
  /** Check source ranges against the bmap checksums while streaming. */
  verifySource: boolean;
  /** Rewrite passes for blocks that did not hold (0 = none). */
  retries: number;
  /** Read each chunk from the card first and write only the blocks that differ. */
  skipIdentical?: boolean;
  /** The capacity probe before writing block devices (default on). */
  probe?: boolean;
  /** Longest a device operation may take before the card counts as stalled (default 30 s). */
  ioTimeoutMs?: number;
  /** "auto" may use a system decoder (xz, bzip2) as a fast path; "builtin" stays in-process. */
  decoder?: 'auto' | 'builtin';
  /** Refuse anything but a block device (main sets this for drives). */
  requireBlockDevice?: boolean;
  /** Signature and checksum options for the image and its bmap. */
  auth?: ImageAuthOptions;
  /** Keep and reuse URL downloads (off when absent). */
  cache?: ImageCacheOptions | null;
  /**
   * Progress events carry each range's changes, and 'started' each range's place (default on: the app's range
   * map draws them). The CLI turns them off: it shows totals only, and 50,000 ranges would cross the thread
   * boundary for nothing. The report still has every range.
   */
  rangeChanges?: boolean;
}

export const DEFAULT_IO_TIMEOUT_MS = 30_000;

export type { SerializedError };

/** `target` in cancel: only that card (index in job.targets); absent: the whole job. */
export type ToWorker =
  | { type: 'start'; seq: number; job: FlashJob }
  | { type: 'cancel'; seq: number; target?: number }
  /** The helper started for card `target` has ended; `error`: it could not be started (a refused prompt). */
  | { type: 'helper-ended'; seq: number; target: number; error?: SerializedError };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One card of the 'done' batch: the target whose 'target-done' report it is, or the report itself. */
export type BatchCardRef = { target: number } | { report: PackedFlashReport };

export type FromWorker =
  | { type: 'started'; seq: number; layout: FlashLayout }
  | { type: 'progress'; seq: number; target: number; progress: FlashProgress }
  | { type: 'log'; seq: number; level: LogLevel; message: string }
  /** Card `target` needs the privileged helper: start it with administrator rights for this rendezvous file. */
  | { type: 'elevate'; seq: number; target: number; file: string }
  /**
   * One card finished (the others may go on). Its ranges come packed in columns (shared/range-table.ts) whose
   * buffers are transferred, not copied: 50,000 range objects cloned across threads cost tens of MB at the end.
   */
  | { type: 'target-done'; seq: number; target: number; report: PackedFlashReport }
  /**
   * The job ended. The batch comes without its cards: `cards` names them in order, each by the target whose
   * 'target-done' carried its report (or, if none did, the report itself), so a card's report (one object
   * per range) crosses the thread boundary once, not twice. `startEngineJob` puts the batch back together.
   */
  | { type: 'done'; seq: number; report: Omit<PackedBatchReport, 'cards'>; cards: BatchCardRef[] }
  /** The job could not produce a report at all (crash); main treats it as failed. */
  | { type: 'error'; seq: number; error: SerializedError };
