/**
 * The flash history's records: one per flash per card, written by the station (CLI or app) and read by
 * `sureflash history`, the GUI and the exports. Stored by src/main/history.
 */
import type { CardBus, CardIdentity, IdSource, SerialScope } from './card-identity';
import type { FlashOutcome, HealthAssessment, HealthVerdict } from './health-rules';
import type { CardTrend } from './health-trend';

/** The identity fields kept with each flash (the identity can change between flashes: slot, device). */
export interface CardRecord {
  cardId: string;
  idSource: IdSource;
  bus: CardBus | null;
  vendor: string | null;
  model: string | null;
  serial: string | null;
  serialScope: SerialScope | null;
  /** The raw CID (32 hex digits), when the card sat in a native slot. */
  cid: string | null;
  sizeBytes: number | null;
  /** Physical slot (USB port devpath…), see CardLocation.slot. */
  slot: string | null;
  /** /dev path at the time. */
  device: string | null;
}

/** One flash to record. */
export interface FlashRecord {
  card: CardRecord;
  /** The station session that flashed it (exports select by it); null outside a station. */
  sessionId: string | null;
  /** Name of the station (host name, jig name); null when unknown. */
  station: string | null;
  /** ISO 8601 times. */
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  image: { name: string; hash: string | null; size: number | null };
  bmap: { name: string; hash: string | null } | null;
  /** What happened, in the health rules' terms (status, error code, retries, blocks, probe, speeds). */
  outcome: FlashOutcome;
  errorMessage: string | null;
  /** The health verdict given after this flash; null when none was computed. */
  health: HealthAssessment | null;
}

/** A recorded flash, with its row id. */
export interface FlashRow extends FlashRecord {
  id: number;
}

/** One card in the history: its latest identity and what its flashes add up to. */
export interface CardSummary {
  card: CardRecord;
  flashes: number;
  firstAt: string;
  lastAt: string;
  lastStatus: FlashOutcome['status'];
  /** Health after the latest flash that has one. */
  health: HealthVerdict | null;
  totals: { retries: number; rewrittenBlocks: number; badBlocks: number };
  trend: CardTrend;
}

/** Which rows an export or a listing covers. */
export interface HistoryFilter {
  cardId?: string;
  sessionId?: string;
}

/** The JSON export's shape. */
export interface HistoryExport {
  format: 'sureflash-history';
  version: 1;
  exportedAt: string;
  filter: HistoryFilter;
  cards: CardSummary[];
  flashes: FlashRow[];
}

/** The CardRecord of an identity, or null when it has no card id. */
export function cardRecordOf(identity: CardIdentity): CardRecord | null {
  if (identity.cardId === null) return null;
  return {
    cardId: identity.cardId,
    idSource: identity.idSource,
    bus: identity.bus,
    vendor: identity.vendor,
    model: identity.model,
    serial: identity.serial,
    serialScope: identity.serialScope,
    cid: identity.cid?.raw ?? null,
    sizeBytes: identity.sizeBytes,
    slot: identity.location.slot,
    device: identity.device,
  };
}
