/**
 * The report objects that describe a flash or verify outcome: one FlashReport per card, and one BatchReport
 * for a job over one or more cards. The CLI's `--report`, the GUI's "Save report" and the final screen all
 * read these shapes.
 */
import type { ChecksumInfo, ImageOrigin, SignatureInfo } from './authenticity';
import type { ChecksumType } from './bmap';
import type { CardIdentity } from './identity';
import type { ApiError } from './result';

export const REPORT_VERSION = 2;

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'zip';

/**
 * Per-range state as it moves through the pipeline. `written`: written, not (yet) read back; `verified`: read
 * back from the device after a flush and equal; `failed`: blocks never held; `source-mismatch`: the image's
 * bytes in this range do not match the bmap checksum (the image is damaged, whatever the card did).
 */
export type RangeState = 'pending' | 'writing' | 'written' | 'verified' | 'retrying' | 'failed' | 'source-mismatch';

export type FlashStatus = 'verified' | 'failed' | 'cancelled' | 'written-unverified';

export type Phase = 'preparing' | 'probing' | 'writing' | 'verifying' | 'retrying' | 'final-check' | 'flushing' | 'done';

export type TargetKind = 'block-device' | 'file';

/** A span of blocks (inclusive), used to name exactly which blocks did not hold. */
export interface BlockSpan {
  first: number;
  last: number;
}

export interface RangeReport {
  index: number;
  first: number;
  last: number;
  bytes: number;
  state: RangeState;
  /** Rewrite passes in this range (0 when everything read back right the first time). */
  retries: number;
  /** Block writes spent on rewrites: a block rewritten twice counts twice. */
  rewrittenBlocks: number;
  /** Distinct blocks that did not hold at first and were rewritten (whether they then held or not). */
  retriedBlocks?: number;
  /** Where the retried blocks are (at most a few hundred spans are listed). */
  retriedSpans?: BlockSpan[];
  /** Blocks written the first time (with skip-identical, only those that differed on the card). */
  writtenBlocks?: number;
  /** Blocks the card already held (skip-identical): read, found equal, not written. */
  skippedBlocks?: number;
  /** I/O errors the device returned in this range while it stayed present (treated like a mismatch). */
  mediaErrors?: number;
  /** Blocks whose read-back data never matched (only on failed ranges). */
  badBlocks?: BlockSpan[];
}

/** The capacity probe: markers written across the card's declared size before the image, read back. */
export interface CapacityProbeReport {
  status: 'passed' | 'failed';
  markers: number;
  claimedBytes: number;
  /** What the card seems to hold when the probe failed (the first marker that did not come back), else null. */
  realBytesEstimate: number | null;
  message: string | null;
}

/** How "verified" was established for this card. */
export interface VerificationReport {
  /** True when every range was read back only after a device flush that covered it. */
  afterFlush: boolean;
  flushes: number;
  /** The final pass after the last flush: bytes read again and what it found. Null when it did not run. */
  finalPass: { bytes: number; firstBytes: number; lastBytes: number; markers: number; mismatchedBlocks: number } | null;
}

export interface FlashReport {
  version: typeof REPORT_VERSION;
  kind: 'card';
  tool: { name: 'sureflash'; version: string };
  mode: 'copy' | 'verify';
  startedAt: string;
  finishedAt?: string;
  image: {
    /** The path, or the URL without credentials (query reduced to "?…"). */
    path: string;
    size: number | null;
    imageSize: number | null;
    compression: Compression;
    decoder: string;
    origin?: ImageOrigin;
    /** Bytes fetched over the network, for URL images. */
    downloadedBytes?: number;
    /** The download cache's copy that was read instead of the URL. */
    cachedFile?: string;
    signature?: SignatureInfo;
    /** The published sha256: `mismatch` means the card holds an image that failed it and must not be used. */
    checksum?: ChecksumInfo;
  };
  bmap: { path: string; version: string; checksumType: ChecksumType | null; mappedBytes: number; blockSize: number } | null;
  target: {
    path: string;
    size: number | null;
    kind: TargetKind;
    /** Logical sector size the device was written with (null for files). */
    sectorSize?: number | null;
    /** The device's write-cache mode from sysfs (queue/write_cache: "write back" / "write through"), if any. */
    writeCache?: string | null;
    identity?: CardIdentity | null;
    /** True once main ejected the card after the job (the eject setting); absent when it did not try or cannot say. */
    ejected?: boolean;
  };
  options: { readback: boolean; verifySource: boolean; retries: number; skipIdentical?: boolean; probe?: boolean; ioTimeoutMs?: number };
  /**
   * How the target was read back: "direct" bypasses every OS cache (O_DIRECT); "buffered" only where the
   * filesystem of a regular-file target refuses O_DIRECT; "none" when readback is off.
   */
  readback: 'direct' | 'buffered' | 'none';
  verification?: VerificationReport;
  probe?: CapacityProbeReport | null;
  status: FlashStatus;
  /**
   * True when the card must not be used as it is: it holds part of an image (failed or cancelled after writing
   * started), an image whose source did not match, or one that could not be checked.
   */
  unsafeToUse?: boolean;
  /** Block size the ranges are numbered in (the bmap's, or 4096 without a bmap). */
  blockSize: number;
  ranges: RangeReport[];
  totals: {
    mappedBytes: number;
    bytesWritten: number;
    bytesReadBack: number;
    /** Rewrite passes over all ranges. */
    retries: number;
    /** Block writes spent on rewrites. */
    rewrittenBlocks: number;
    /** Distinct blocks that needed a rewrite. */
    retriedBlocks?: number;
    writtenBlocks?: number;
    skippedBlocks?: number;
    badRanges: number;
    verifiedRanges: number;
    retriedRanges: number;
    sourceMismatchRanges?: number;
    mediaErrors?: number;
  };
  timings: {
    preparingMs: number;
    probeMs?: number;
    copyMs: number;
    finalPassMs?: number;
    flushMs: number;
    totalMs: number;
    sourceMs: number;
    writeMs: number;
    readbackMs: number;
  };
  /** Mapped bytes per second over the copy and flush phases. */
  averageSpeed: number;
  error?: ApiError;
}

/** One job over one or more cards: the same image, one report per card. */
export interface BatchReport {
  version: typeof REPORT_VERSION;
  kind: 'batch';
  tool: { name: 'sureflash'; version: string };
  mode: 'copy' | 'verify';
  startedAt: string;
  finishedAt: string;
  image: FlashReport['image'];
  bmap: FlashReport['bmap'];
  /** "verified" only when every card is; "cancelled" when every card was cancelled; else "failed" if any failed. */
  status: FlashStatus;
  cards: FlashReport[];
  summary: { cards: number; verified: number; failed: number; cancelled: number; writtenUnverified: number };
}

/** Range layout sent when a job starts, so a UI can draw the map before any progress. */
export interface FlashLayout {
  imageSize: number;
  blockSize: number;
  mappedBytes: number;
  /** Empty when the job asked for no range changes (the CLI): then only `rangeCount` says how many. */
  ranges: { index: number; first: number; last: number; bytes: number }[];
  /** How many ranges the plan has (the engine always sets it). */
  rangeCount?: number;
}

export interface RangeChange {
  index: number;
  state: RangeState;
  retries: number;
  /** Bytes of the range handled so far (written, or read in verify mode), for drawing progress inside it. */
  doneBytes?: number;
  /** Blocks that never held (with state failed). */
  badBlocks?: BlockSpan[];
  /** Blocks that needed a rewrite so far. */
  retriedSpans?: BlockSpan[];
}

/** Something happening beyond the phase that a person should see ("Rewriting 3 blocks that did not hold"). */
export type FlashActivity =
  | { kind: 'rewriting'; blocks: number; range: number }
  | { kind: 'final-check'; bytes: number }
  | { kind: 'probing'; markers: number };

export interface FlashProgress {
  phase: Phase;
  /** Mapped bytes processed (written, or read in verify mode). */
  bytesDone: number;
  bytesTotal: number;
  /** Bytes per second, smoothed. */
  speed: number;
  etaSeconds: number | null;
  retries: number;
  activity?: FlashActivity | null;
  /** For URL images: bytes downloaded so far and the download rate (bytes per second, last 2 s). */
  download?: { bytes: number; speed: number } | null;
  /** Range state changes since the previous progress event, in order. */
  rangeChanges: RangeChange[];
}

/** Folds card reports into the batch verdict. */
export function batchStatus(cards: readonly Pick<FlashReport, 'status'>[]): FlashStatus {
  if (cards.length === 0) return 'failed';
  if (cards.every((c) => c.status === 'verified')) return 'verified';
  if (cards.every((c) => c.status === 'cancelled')) return 'cancelled';
  if (cards.some((c) => c.status === 'failed')) return 'failed';
  if (cards.some((c) => c.status === 'cancelled')) return 'cancelled';
  return 'written-unverified';
}

/** Counts per verdict for a batch. */
export function batchSummary(cards: readonly Pick<FlashReport, 'status'>[]): BatchReport['summary'] {
  const count = (status: FlashStatus): number => cards.filter((c) => c.status === status).length;
  return { cards: cards.length, verified: count('verified'), failed: count('failed'), cancelled: count('cancelled'), writtenUnverified: count('written-unverified') };
}
