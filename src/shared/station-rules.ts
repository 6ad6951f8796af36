/**
 * The station's pure rules: which drive it takes (a drive that appeared after arming, on an allowed slot,
 * that the drive rules allow, never a system drive, never one above the size limit), how it tells a new
 * card from one it has seen, the session's summary and exit code, and the log line of one card.
 */
import type { DriveInfo } from './api';
import { evaluateDrive, isPathInside, LARGE_DRIVE_BYTES } from './drive-rules';
import { formatBytes } from './format';
import type {
  StationCard,
  StationCardResult,
  StationImage,
  StationRefusal,
  StationRefusalCode,
  StationSummary,
} from './station';

/** What the take rule weighs beside the drive itself. */
export interface StationTakeContext {
  /** The image (its real path): the drive holding it is never taken. */
  imagePath: string;
  imageSize: number | null;
  /** The user's size limit; null: LARGE_DRIVE_BYTES. */
  maxSizeBytes: number | null;
  /** Allowed slot prefixes (sysfs paths); empty: any slot. */
  slots: readonly string[];
  /** Every drive listed now (the source-drive rule compares mountpoints). */
  allDrives: readonly DriveInfo[];
}

/** The size above which a station never takes a drive. */
export function stationSizeLimit(maxSizeBytes: number | null): number {
  return maxSizeBytes ?? LARGE_DRIVE_BYTES;
}

/** True when `slot` lies on one of the `prefixes` (whole path segments), or when no prefix is given. */
export function isOnSlots(slot: string | null, prefixes: readonly string[]): boolean {
  if (prefixes.length === 0) return true;
  if (slot === null) return false;
  return prefixes.some((prefix) => isPathInside(slot, prefix));
}

const refusal = (drive: DriveInfo, code: StationRefusalCode, message: string): StationRefusal => ({
  device: drive.device,
  description: drive.description,
  size: drive.size,
  code,
  message,
});

/**
 * Why the station will not take `drive` (on `slot`), or null when it takes it. Stricter than a flash the
 * user asked for: a system drive is refused outright (nothing to acknowledge at a station), and so is any
 * drive above the size limit (by default the rules' "unusually large" line).
 */
export function judgeStationDrive(drive: DriveInfo, slot: string | null, ctx: StationTakeContext): StationRefusal | null {
  if (drive.isSystem) return refusal(drive, 'SYSTEM_DRIVE', 'System drive: a station never touches it.');
  if (!isOnSlots(slot, ctx.slots)) {
    return refusal(drive, 'OTHER_SLOT', `Not on a slot the station serves (${slot ?? 'slot unknown'}).`);
  }
  const verdict = evaluateDrive(drive, { imagePath: ctx.imagePath, imageSize: ctx.imageSize, showHidden: true, allDrives: ctx.allDrives });
  const order: StationRefusalCode[] = ['VIRTUAL', 'UNKNOWN_SIZE', 'READ_ONLY', 'SOURCE_DRIVE'];
  for (const code of order) {
    const reason = verdict.reasons.find((r) => r.code === code && r.severity === 'error');
    if (reason) return refusal(drive, code, reason.message);
  }
  const limit = stationSizeLimit(ctx.maxSizeBytes);
  if (drive.size !== null && drive.size > limit) {
    return refusal(drive, 'TOO_LARGE', `Larger (${formatBytes(drive.size)}) than the station's limit of ${formatBytes(limit)}.`);
  }
  const small = verdict.reasons.find((r) => r.code === 'TOO_SMALL');
  if (small) return refusal(drive, 'TOO_SMALL', small.message);
  const other = verdict.reasons.find((r) => r.severity === 'error');
  if (other) return refusal(drive, 'NOT_ALLOWED', other.message);
  return null;
}

/**
 * What makes one medium in a device different from the one before: the device, its size and the kernel's
 * media sequence number when known. An empty reader that gets a card changes size; a card swapped between
 * two polls changes the sequence number.
 */
export function mediumKey(drive: Pick<DriveInfo, 'device' | 'size'>, sequence: string | null): string {
  return JSON.stringify([drive.device, drive.size ?? null, sequence]);
}

/** The drives of `current` whose medium was not in `known` (keys from mediumKey): the cards just inserted. */
export function newMedia<T>(known: ReadonlySet<string>, current: readonly { key: string; drive: T }[]): T[] {
  return current.filter((entry) => !known.has(entry.key)).map((entry) => entry.drive);
}

/** The summary of a session from its cards (running ones count as taken only). */
export function stationSummary(
  session: { sessionId: string; station: string; startedAt: string; stoppedAt: string | null },
  cards: readonly Pick<StationCard, 'state' | 'result'>[],
): StationSummary {
  const count = (state: StationCard['state']): number => cards.filter((c) => c.state === state).length;
  const health = { keep: 0, watch: 0, retire: 0 };
  for (const card of cards) {
    const verdict = card.result?.health?.verdict;
    if (verdict) health[verdict] += 1;
  }
  const verified = count('verified');
  return {
    ...session,
    taken: cards.length,
    verified,
    failed: count('failed'),
    cancelled: count('cancelled'),
    writtenUnverified: count('written-unverified'),
    lost: count('lost'),
    health,
    allVerified: verified === cards.length,
  };
}

/** The CLI's exit code for a session: 0 when every card taken was verified (none taken: nothing failed), else 1. */
export function stationExitCode(summary: StationSummary): 0 | 1 {
  return summary.allVerified ? 0 : 1;
}

/** The station log's format name and version (the first two fields of every line). */
export const STATION_LOG_FORMAT = 'sureflash-station-log';
export const STATION_LOG_VERSION = 1;

/** One line of the station log: everything about one card's flash (README, "Station mode", field by field). */
export function stationLogRecord(
  result: StationCardResult,
  session: { sessionId: string; station: string; image: StationImage },
  loggedAt: string,
): Record<string, unknown> {
  const id = result.identity;
  const s = result.summary;
  return {
    format: STATION_LOG_FORMAT,
    version: STATION_LOG_VERSION,
    loggedAt,
    sessionId: session.sessionId,
    station: session.station,
    card: result.card,
    slot: result.slot,
    device: result.device,
    identity: id
      ? {
          cardId: id.cardId,
          idSource: id.idSource,
          bus: id.bus,
          vendor: id.vendor,
          model: id.model,
          serial: id.serial,
          serialScope: id.serialScope,
          cid: id.cid?.raw ?? null,
          sizeBytes: id.sizeBytes,
          fingerprint: id.fingerprint,
        }
      : null,
    image: { path: session.image.path, name: session.image.name, size: session.image.imageSize },
    bmap: session.image.bmapPath,
    status: result.verdict,
    error: s.error,
    unsafeToUse: s.unsafeToUse,
    retries: s.retries,
    rewrittenBlocks: s.rewrittenBlocks,
    badBlocks: s.badBlocks,
    skippedBlocks: s.skippedBlocks,
    probe: s.probe,
    bytesWritten: s.bytesWritten,
    averageSpeed: s.averageSpeed,
    writeSpeed: s.writeSpeed,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
    durationMs: s.durationMs,
    health: result.health ? { verdict: result.health.verdict, reasons: result.health.reasons.map((r) => ({ code: r.code, verdict: r.verdict, message: r.message })) } : null,
    historyId: result.recorded.historyId,
    historyError: result.recorded.historyError,
  };
}
