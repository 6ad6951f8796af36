/**
 * A card's flash report boiled down: to the health rules' FlashOutcome (what the history keeps) and to the
 * station's summary (what its log, table and tiles show). Pure.
 */
import type { CapacityProbe, FlashOutcome } from './health-rules';
import { sumRanges } from './health-rules';
import type { FlashReport } from './report';
import type { StationFlashSummary } from './station';

/** Less written than this (a --skip-identical flash that wrote a few blocks) gives no write speed. */
export const MIN_SPEED_BYTES = 8 * 1024 * 1024;

/** The capacity probe's result in the health rules' terms, null when it did not run. */
export function probeOf(report: FlashReport): CapacityProbe | null {
  if (!report.probe) return null;
  return { ok: report.probe.status === 'passed', claimedBytes: report.probe.claimedBytes, realBytes: report.probe.realBytesEstimate };
}

/** Bytes per second while writing (time in the card's write calls), null when too little was written. */
export function writeSpeedOf(report: FlashReport): number | null {
  const bytes = report.totals.bytesWritten;
  const ms = report.timings.writeMs > 0 ? report.timings.writeMs : report.timings.copyMs;
  if (bytes < MIN_SPEED_BYTES || !(ms > 0)) return null;
  return (bytes * 1000) / ms;
}

/** What the health rules and the history need of one card's report. */
export function flashOutcomeOf(report: FlashReport): FlashOutcome {
  const sums = sumRanges(report.ranges);
  return {
    status: report.status,
    errorCode: report.error?.code ?? null,
    ...sums,
    probe: probeOf(report),
    averageSpeed: Number.isFinite(report.averageSpeed) && report.averageSpeed > 0 ? report.averageSpeed : null,
    writeSpeed: writeSpeedOf(report),
  };
}

/** The station's summary of one card's report. */
export function stationFlashSummary(report: FlashReport): StationFlashSummary {
  const outcome = flashOutcomeOf(report);
  const finishedAt = report.finishedAt ?? null;
  const durationMs = finishedAt !== null ? Math.max(0, Date.parse(finishedAt) - Date.parse(report.startedAt)) : null;
  return {
    startedAt: report.startedAt,
    finishedAt,
    durationMs: Number.isFinite(durationMs) ? durationMs : null,
    retries: outcome.retries,
    rewrittenBlocks: outcome.rewrittenBlocks,
    badBlocks: outcome.badBlocks,
    skippedBlocks: outcome.skippedBlocks,
    probe: outcome.probe ? { ok: outcome.probe.ok, claimedBytes: outcome.probe.claimedBytes, realBytes: outcome.probe.realBytes ?? null } : null,
    bytesWritten: report.totals.bytesWritten,
    averageSpeed: outcome.averageSpeed,
    writeSpeed: outcome.writeSpeed,
    unsafeToUse: report.unsafeToUse === true,
    error: report.error ?? null,
  };
}

/**
 * Whether a card known only by its content fingerprint is to be read again after its flash, to be recorded
 * under what it now holds: only when something was written and the card still answers. A card that stalled
 * would hang the read (a thread blocked in the kernel cannot be stopped) and one that is gone cannot be read.
 */
export function rereadFingerprint(report: FlashReport, idSource: string | null | undefined): boolean {
  if (idSource !== 'fingerprint' || report.totals.bytesWritten <= 0) return false;
  const code = report.error?.code;
  return code !== 'DEVICE_STALLED' && code !== 'DEVICE_LOST';
}
