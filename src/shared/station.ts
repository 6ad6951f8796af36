/**
 * Station mode: armed once on an image, it flashes every card inserted afterwards that the drive rules allow
 * (up to `maxCards` at a time), proves it, records it and gives each card a health verdict. These are the
 * station's options, its events and its state as the CLI and the GUI see them; the station itself runs in
 * main (src/main/station). Pure: no Node, no DOM.
 */
import type { CardIdentity } from './card-identity';
import type { HealthAssessment } from './health-rules';
import type { FlashReport, FlashStatus, Phase } from './report';
import type { ApiError } from './result';

/** What the station is armed with. */
export interface StationOptions {
  /** The image: a path (a URL is refused: a station re-reads its image for every card). */
  imagePath: string;
  /** The bmap: a path, null for none (every block of the image is written), undefined to find it next to the image. */
  bmapPath?: string | null;
  /** Rewrite passes for ranges that did not hold (0 … MAX_RETRIES). */
  retries: number;
  /** Read each block first and write only those the card does not already hold. */
  skipIdentical: boolean;
  /** Read every written range back from the card (off: cards end "written-unverified", never "verified"). */
  readback: boolean;
  /** The capacity probe (counterfeit cards). */
  probe: boolean;
  /** Cards flashed at the same time, at most; a card inserted while K run waits for a free place. */
  maxCards: number;
  /**
   * Only drives on these physical slots are taken: sysfs device path prefixes (on whole path segments),
   * e.g. "/devices/pci0000:00/0000:00:14.0/usb2/2-1" takes every port behind that hub. Empty: any slot.
   */
  slots: string[];
  /**
   * Drives larger than this many bytes are never taken. null: the drive rules' "unusually large" line
   * (LARGE_DRIVE_BYTES, 128 GB), which a station never crosses on its own.
   */
  maxSizeBytes: number | null;
  /** Where one JSON line per card is appended (null: no log file). */
  logFile: string | null;
  /** The station's name in the log and the history (default: the host name). */
  stationName?: string | null;
  /** How the image is authenticated (as `sureflash copy`): bmap signature and published sha256. */
  auth?: StationAuthOptions;
  /** Longest a card may take to answer one operation before it counts as stalled (ms; default the engine's 30 s). */
  ioTimeoutMs?: number;
}

/** The image's authenticity checks, as `sureflash copy` takes them (--bmap-sig, --keyring, --fingerprint, --no-sig-verify, --sha256). */
export interface StationAuthOptions {
  bmapSig?: string;
  keyring?: string;
  fingerprint?: string;
  noSigVerify?: boolean;
  sha256?: string;
}

/** Why a drive is not taken. */
export type StationRefusalCode =
  | 'PRESENT_AT_ARMING'
  | 'SYSTEM_DRIVE'
  | 'READ_ONLY'
  | 'SOURCE_DRIVE'
  | 'VIRTUAL'
  | 'UNKNOWN_SIZE'
  | 'TOO_SMALL'
  | 'TOO_LARGE'
  | 'OTHER_SLOT'
  | 'NOT_ALLOWED';

/** A drive the station will not touch, and why (worst reason first). */
export interface StationRefusal {
  device: string;
  description: string;
  size: number | null;
  code: StationRefusalCode;
  message: string;
}

/** How a card's flash ended for the station: a flash status, or `lost` when the card went away mid-flash. */
export type StationCardVerdict = FlashStatus | 'lost';

/** A card's state as a tile or a table row shows it. */
export type StationCardState = 'flashing' | StationCardVerdict;

/** The flash report boiled down to what the station's log, table and tiles show. */
export interface StationFlashSummary {
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  /** Rewrite passes over all ranges. */
  retries: number;
  rewrittenBlocks: number;
  /** Blocks that never held. */
  badBlocks: number;
  /** Blocks the card already held (skip-identical). */
  skippedBlocks: number;
  /** The capacity probe's result, null when it did not run. */
  probe: { ok: boolean; claimedBytes: number; realBytes: number | null } | null;
  bytesWritten: number;
  /** Mapped bytes per second over the whole flash. */
  averageSpeed: number | null;
  /** Bytes per second while writing (null when too little was written to say). */
  writeSpeed: number | null;
  /** True when the card holds a partial or unchecked image and must not be used as it is. */
  unsafeToUse: boolean;
  error: ApiError | null;
}

/** Where a finished card was written down. */
export interface StationRecordOutcome {
  /** The history row's id, or null when nothing was recorded. */
  historyId: number | null;
  /** Why the history write failed (the verdict stands), null when it worked. */
  historyError: string | null;
  /** True when the card's line was appended to the log file (false also when there is no log file). */
  logged: boolean;
  logError: string | null;
}

/** A finished card: its verdict, its health and what was recorded. */
export interface StationCardResult {
  /** The card's number in this session (1, 2, …, in the order the cards were taken). */
  card: number;
  device: string;
  /** The physical slot (sysfs path of the USB port or native slot; a loop device's own path), null when unknown. */
  slot: string | null;
  identity: CardIdentity | null;
  verdict: StationCardVerdict;
  /** Keep / Watch / Retire with the reasons (null when the card could not be assessed). */
  health: HealthAssessment | null;
  summary: StationFlashSummary;
  /** The engine's report for this card (null when the engine gave none). */
  report: FlashReport | null;
  recorded: StationRecordOutcome;
}

/** Live progress of one card. */
export interface StationCardProgress {
  /** 0 … 100 over the mapped bytes. */
  percent: number;
  phase: Phase;
  /** Bytes per second, smoothed. */
  speed: number;
  bytesDone: number;
  bytesTotal: number;
  etaSeconds: number | null;
  retries: number;
}

/** A card the station took, running or finished. */
export interface StationCard {
  card: number;
  device: string;
  slot: string | null;
  description: string;
  size: number | null;
  identity: CardIdentity | null;
  takenAt: string;
  state: StationCardState;
  progress: StationCardProgress | null;
  /** Set once the card finished (card-done or card-lost). */
  result: StationCardResult | null;
}

/** Counts at the end of a session (or so far). */
export interface StationSummary {
  sessionId: string;
  station: string;
  startedAt: string;
  stoppedAt: string | null;
  /** Cards taken, and how each ended (running ones are counted in `taken` only). */
  taken: number;
  verified: number;
  failed: number;
  cancelled: number;
  writtenUnverified: number;
  lost: number;
  health: { keep: number; watch: number; retire: number };
  /** True when every card taken ended verified (also when none was taken: nothing failed). */
  allVerified: boolean;
}

/** Where the station is. idle: never armed; stopping: no new cards, the running ones finish; cancelling: they are being cancelled. */
export type StationState = 'idle' | 'armed' | 'stopping' | 'cancelling' | 'stopped';

/** The image the station is armed on, as checked at arming. */
export interface StationImage {
  path: string;
  name: string;
  /** Uncompressed size when known. */
  imageSize: number | null;
  bmapPath: string | null;
}

/** The whole station at one moment (a new window or a reconnected page starts from this). */
export interface StationStatus {
  state: StationState;
  sessionId: string | null;
  station: string | null;
  options: StationOptions | null;
  image: StationImage | null;
  /** Drives present at arming: never touched in this session. */
  untouched: StationRefusal[];
  /** Every card taken in this session, in order. */
  cards: StationCard[];
  summary: StationSummary | null;
}

/** What the station tells its listeners. Every event carries the session it belongs to. */
export type StationEvent =
  | { type: 'armed'; sessionId: string; station: string; at: string; options: StationOptions; image: StationImage; untouched: StationRefusal[] }
  /** Nothing to do until a card comes (sent after arming and whenever the last running card finished). */
  | { type: 'waiting'; sessionId: string; running: number; maxCards: number }
  /** A new drive appeared and will not be taken (too large, another slot, read-only, …). */
  | { type: 'card-refused'; sessionId: string; refusal: StationRefusal }
  | { type: 'card-taken'; sessionId: string; card: number; device: string; slot: string | null; description: string; size: number | null; identity: CardIdentity | null }
  | { type: 'card-progress'; sessionId: string; card: number; device: string; progress: StationCardProgress }
  /** A card finished: verified, failed, cancelled or written-unverified. */
  | { type: 'card-done'; sessionId: string; result: StationCardResult }
  /** A card went away while it was flashed (the flash ends; the station goes on). */
  | { type: 'card-lost'; sessionId: string; result: StationCardResult }
  /** A finished card was taken out: its slot is free for the next one. */
  | { type: 'card-removed'; sessionId: string; card: number; device: string; slot: string | null }
  /** Something went wrong that changes no verdict (a history or log write failed, a drive poll failed). */
  | { type: 'warning'; sessionId: string; message: string }
  /** The station stopped taking cards; `cancelling`: the running ones are being cancelled. */
  | { type: 'stopping'; sessionId: string; running: number; cancelling: boolean }
  | { type: 'stopped'; sessionId: string; summary: StationSummary };
