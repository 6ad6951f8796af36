/**
 * Exports of the history for a lab's records: CSV (RFC 4180, one row per flash, CRLF, header first) and
 * JSON (HistoryExport: the cards' summaries and the flashes).
 */
import type { CardSummary, FlashRow, HistoryExport, HistoryFilter } from '../../shared/history-types';

/** CSV columns, in order, with how each is read from a row. */
const CSV_COLUMNS: readonly [string, (row: FlashRow) => string | number | boolean | null][] = [
  ['flash_id', (r) => r.id],
  ['session_id', (r) => r.sessionId],
  ['station', (r) => r.station],
  ['slot', (r) => r.card.slot],
  ['device', (r) => r.card.device],
  ['card_id', (r) => r.card.cardId],
  ['id_source', (r) => r.card.idSource],
  ['bus', (r) => r.card.bus],
  ['vendor', (r) => r.card.vendor],
  ['model', (r) => r.card.model],
  ['serial', (r) => r.card.serial],
  ['serial_scope', (r) => r.card.serialScope],
  ['cid', (r) => r.card.cid],
  ['size_bytes', (r) => r.card.sizeBytes],
  ['started_at', (r) => r.startedAt],
  ['finished_at', (r) => r.finishedAt],
  ['duration_ms', (r) => r.durationMs],
  ['image', (r) => r.image.name],
  ['image_sha256', (r) => r.image.hash],
  ['image_size', (r) => r.image.size],
  ['bmap', (r) => r.bmap?.name ?? null],
  ['bmap_sha256', (r) => r.bmap?.hash ?? null],
  ['status', (r) => r.outcome.status],
  ['error_code', (r) => r.outcome.errorCode],
  ['error_message', (r) => r.errorMessage],
  ['retries', (r) => r.outcome.retries],
  ['rewritten_blocks', (r) => r.outcome.rewrittenBlocks],
  ['bad_blocks', (r) => r.outcome.badBlocks],
  ['skipped_blocks', (r) => r.outcome.skippedBlocks],
  ['probe_ok', (r) => r.outcome.probe?.ok ?? null],
  ['probe_claimed_bytes', (r) => r.outcome.probe?.claimedBytes ?? null],
  ['probe_real_bytes', (r) => r.outcome.probe?.realBytes ?? null],
  ['average_speed_bps', (r) => r.outcome.averageSpeed],
  ['write_speed_bps', (r) => r.outcome.writeSpeed],
  ['health', (r) => r.health?.verdict ?? null],
  ['health_reasons', (r) => r.health?.reasons.map((reason) => `${reason.code}: ${reason.message}`).join(' | ') ?? null],
];

/**
 * One CSV cell. Text that a spreadsheet would run as a formula (starting with = + - @, tab or CR) gets a
 * leading apostrophe; numbers are written as they are.
 */
export function csvCell(value: string | number | boolean | null): string {
  if (value === null) return '';
  if (typeof value !== 'string') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The flashes as CSV text. */
export function historyCsv(rows: readonly FlashRow[]): string {
  const lines = [CSV_COLUMNS.map(([name]) => name).join(',')];
  for (const row of rows) lines.push(CSV_COLUMNS.map(([, read]) => csvCell(read(row))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** The JSON export object. */
export function historyExport(cards: CardSummary[], flashes: FlashRow[], filter: HistoryFilter, now: Date = new Date()): HistoryExport {
  return { format: 'sureflash-history', version: 1, exportedAt: now.toISOString(), filter, cards, flashes };
}
