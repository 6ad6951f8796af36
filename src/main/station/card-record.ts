/**
 * What the station writes down when a card ends: its health verdict (from the history when there is one),
 * a history row, and one JSON line in the log file. Nothing here changes the card's verdict: a history or
 * log that fails is returned as a warning.
 */
import type { CardIdentity } from '../../shared/card-identity';
import { flashOutcomeOf, stationFlashSummary } from '../../shared/flash-outcome';
import { assessHealth } from '../../shared/health-rules';
import type { FlashReport } from '../../shared/report';
import type { ApiError } from '../../shared/result';
import type { StationCard, StationCardResult, StationCardVerdict, StationFlashSummary, StationImage } from '../../shared/station';
import { stationLogRecord } from '../../shared/station-rules';
import type { FlashHistory } from '../history/flash-recorder';

/** Where and how a session records its cards. */
export interface CardRecordContext {
  sessionId: string;
  station: string;
  image: StationImage;
  logFile: string | null;
  history: FlashHistory | null;
  appendLog(file: string, line: string): Promise<void>;
  /** Write speeds of the session's other cards that wrote (the batch rule). */
  batchSpeeds: number[];
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The summary of a card the engine gave no report for (it never started, or the engine crashed). */
function summaryWithoutReport(startedAt: string, error: ApiError): StationFlashSummary {
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    durationMs: null,
    retries: 0,
    rewrittenBlocks: 0,
    badBlocks: 0,
    skippedBlocks: 0,
    probe: null,
    bytesWritten: 0,
    averageSpeed: null,
    writeSpeed: null,
    unsafeToUse: true,
    error,
  };
}

/** Assesses and records one finished card; returns its result and the warnings to pass on. */
export async function recordCard(
  card: StationCard,
  ended: { verdict: StationCardVerdict; identity: CardIdentity | null; report: FlashReport | null; failure: ApiError | null },
  ctx: CardRecordContext,
): Promise<{ result: StationCardResult; warnings: string[] }> {
  const { verdict, identity, report } = ended;
  const warnings: string[] = [];
  const recorded: StationCardResult['recorded'] = { historyId: null, historyError: null, logged: false, logError: null };
  let health: StationCardResult['health'] = null;
  if (report) {
    if (ctx.history) {
      const done = ctx.history.record({ report, identity, sessionId: ctx.sessionId, station: ctx.station, batchSpeeds: ctx.batchSpeeds });
      health = done.health;
      recorded.historyId = done.historyId;
      recorded.historyError = done.error;
      if (done.error) warnings.push(done.error);
    } else {
      health = assessHealth(flashOutcomeOf(report), [], { writeSpeeds: ctx.batchSpeeds });
    }
  }
  const summary = report
    ? stationFlashSummary(report)
    : summaryWithoutReport(card.takenAt, ended.failure ?? { code: 'INTERNAL', message: 'the engine gave no report for the card' });
  const result: StationCardResult = { card: card.card, device: card.device, slot: card.slot, identity, verdict, health, summary, report, recorded };
  if (ctx.logFile) {
    const line = `${JSON.stringify(stationLogRecord(result, { sessionId: ctx.sessionId, station: ctx.station, image: ctx.image }, new Date().toISOString()))}\n`;
    try {
      await ctx.appendLog(ctx.logFile, line);
      recorded.logged = true;
    } catch (err) {
      recorded.logError = `the log line was not written to ${ctx.logFile}: ${message(err)}`;
      warnings.push(recorded.logError);
    }
  }
  return { result, warnings };
}
