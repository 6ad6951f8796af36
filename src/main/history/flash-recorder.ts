/**
 * Records finished flashes in the history, one row per card, and gives each card its health verdict (the
 * rules of src/shared/health-rules.ts over this flash, the card's past flashes and the batch). Failure-
 * tolerant: a history that cannot be opened or written never changes a verdict; the caller is told why.
 * The station, `sureflash copy` and the app's flash service all record through this.
 */
import { basename } from 'node:path';
import type { CardIdentity } from '../../shared/card-identity';
import { flashOutcomeOf } from '../../shared/flash-outcome';
import { assessHealth, countsAgainstCard, type FlashOutcome, type HealthAssessment } from '../../shared/health-rules';
import { cardRecordOf, type FlashRecord } from '../../shared/history-types';
import type { FlashReport } from '../../shared/report';
import { openHistory, type HistoryStore } from './history-store';

/** One card's finished flash, to record. */
export interface FlashToRecord {
  report: FlashReport;
  /** Who the card is (src/main/drives identifyCard); null or without a card id: assessed, not recorded. */
  identity: CardIdentity | null;
  /** The station session, null outside a station. */
  sessionId: string | null;
  /** The station's name (host or jig), null outside a station. */
  station: string | null;
  /** Write speeds (bytes/s) of the other cards of the same batch or session, for the batch rule. */
  batchSpeeds?: readonly number[];
}

/** What recording gave. */
export interface RecordedFlash {
  outcome: FlashOutcome;
  /** The health verdict (always computed, from whatever history could be read). */
  health: HealthAssessment;
  /** The row's id, null when nothing was recorded. */
  historyId: number | null;
  /** Why the flash was not recorded (or the history not read), null when all went well. */
  error: string | null;
}

export interface FlashHistory {
  /** The database file. */
  readonly file: string;
  /** Assesses and records one card's flash; never throws. */
  record(flash: FlashToRecord): RecordedFlash;
  close(): void;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The history record of one card's flash. */
export function flashRecordOf(flash: FlashToRecord, outcome: FlashOutcome, health: HealthAssessment): FlashRecord | null {
  const card = flash.identity ? cardRecordOf(flash.identity) : null;
  if (!card) return null;
  const { report } = flash;
  const finishedAt = report.finishedAt ?? null;
  const durationMs = finishedAt !== null ? Math.max(0, Date.parse(finishedAt) - Date.parse(report.startedAt)) : null;
  return {
    card,
    sessionId: flash.sessionId,
    station: flash.station,
    startedAt: report.startedAt,
    finishedAt,
    durationMs: durationMs !== null && Number.isFinite(durationMs) ? durationMs : null,
    image: { name: basename(report.image.path), hash: null, size: report.image.imageSize ?? report.image.size },
    bmap: report.bmap ? { name: basename(report.bmap.path), hash: null } : null,
    outcome,
    errorMessage: report.error?.message ?? null,
    health,
  };
}

/**
 * The history in `file`, opened on the first record (a missing SQLite binding or an unwritable folder is
 * then one error per record, never a crash). `open` replaces openHistory (tests).
 */
export function createFlashHistory(file: string, open: (file: string) => HistoryStore = (f) => openHistory(f)): FlashHistory {
  let store: HistoryStore | null = null;
  const storeOrThrow = (): HistoryStore => (store ??= open(file));
  return {
    file,
    record(flash) {
      const outcome = flashOutcomeOf(flash.report);
      const batch = flash.batchSpeeds ? { writeSpeeds: flash.batchSpeeds } : null;
      const cardId = flash.identity?.cardId ?? null;
      let past: FlashOutcome[] = [];
      let error: string | null = null;
      if (cardId === null) error = `${flash.report.target.path}: the card has no identity Sureflash can read (no serial, no fingerprint): not recorded in the history`;
      else {
        try {
          past = storeOrThrow().cardHistory(cardId).map((row) => row.outcome);
        } catch (err) {
          error = `the history could not be read: ${message(err)}`;
        }
      }
      const health = assessHealth(outcome, past, batch);
      const record = flashRecordOf(flash, outcome, health);
      let historyId: number | null = null;
      if (record && error === null) {
        try {
          historyId = storeOrThrow().record(record);
        } catch (err) {
          error = `the flash was not recorded in the history: ${message(err)}`;
        }
      }
      return { outcome, health, historyId, error };
    },
    close() {
      store?.close();
      store = null;
    },
  };
}

/** Write speeds of the cards in `outcomes` that count, for the batch rule (the card's own left out by the caller). */
export function batchSpeedsOf(outcomes: readonly FlashOutcome[]): number[] {
  return outcomes.filter(countsAgainstCard).map((o) => o.writeSpeed).filter((s): s is number => typeof s === 'number' && s > 0);
}
