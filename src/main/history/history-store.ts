/**
 * The flash history: one SQLite database (better-sqlite3) in the app's data folder, one row per flash per
 * card. WAL mode with a busy timeout, so the app and the CLI can have it open at once (readers never wait
 * for the writer; two writers queue for up to 5 s). Calls are synchronous and short (one row).
 */
import Database, { type Database as Connection, type Statement } from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HealthReason } from '../../shared/health-rules';
import { cardTrend } from '../../shared/health-trend';
import type { CardSummary, FlashRecord, FlashRow, HistoryFilter } from '../../shared/history-types';
import type { FlashStatus } from '../../shared/report';
import { historyFile } from './data-dir';
import { HistoryError } from './history-error';
import { migrate } from './schema';

export interface HistoryStore {
  /** The database file. */
  readonly file: string;
  /** Adds one flash; returns its row id. */
  record(flash: FlashRecord): number;
  /** Every flash of one card, oldest first. */
  cardHistory(cardId: string): FlashRow[];
  /** The cards with flashes in the selection (all by default), latest flashed first, each summed over its whole history. */
  cards(filter?: HistoryFilter): CardSummary[];
  /** The flashes in the selection, oldest first. */
  flashes(filter?: HistoryFilter): FlashRow[];
  /** The card id that `idOrPrefix` names (exactly, or as the unique start of one); null when none. */
  resolveCardId(idOrPrefix: string): string | null;
  close(): void;
}

export interface OpenHistoryOptions {
  /** Create the file (and its folder) when missing; default true. False: a missing file is HISTORY_UNAVAILABLE. */
  create?: boolean;
  /** Milliseconds to wait for another process's write; default 5000. */
  busyTimeoutMs?: number;
}

/** The row as SQLite returns it. */
interface Row {
  id: number;
  card_id: string;
  id_source: string;
  bus: string | null;
  vendor: string | null;
  model: string | null;
  serial: string | null;
  serial_scope: string | null;
  cid: string | null;
  size_bytes: number | null;
  slot: string | null;
  device: string | null;
  session_id: string | null;
  station: string | null;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  image_name: string;
  image_hash: string | null;
  image_size: number | null;
  bmap_name: string | null;
  bmap_hash: string | null;
  status: string;
  error_code: string | null;
  error_message: string | null;
  retries: number;
  rewritten_blocks: number;
  bad_blocks: number;
  skipped_blocks: number;
  probe_ok: number | null;
  probe_claimed_bytes: number | null;
  probe_real_bytes: number | null;
  average_speed: number | null;
  write_speed: number | null;
  health: string | null;
  health_reasons: string | null;
}

const COLUMNS = [
  'card_id', 'id_source', 'bus', 'vendor', 'model', 'serial', 'serial_scope', 'cid', 'size_bytes', 'slot', 'device',
  'session_id', 'station', 'started_at', 'finished_at', 'duration_ms', 'image_name', 'image_hash', 'image_size',
  'bmap_name', 'bmap_hash', 'status', 'error_code', 'error_message', 'retries', 'rewritten_blocks', 'bad_blocks',
  'skipped_blocks', 'probe_ok', 'probe_claimed_bytes', 'probe_real_bytes', 'average_speed', 'write_speed', 'health',
  'health_reasons',
] as const;

const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';

/** Wraps SQLite's failures (busy, read-only, full, corrupt, not a database) as HISTORY_UNAVAILABLE naming the file. */
function guard<T>(file: string, action: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof HistoryError) throw err;
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    const message = firstLine(err);
    const hint =
      code === 'SQLITE_NOTADB' ? `${file} is not a Sureflash history database`
      : code === 'SQLITE_BUSY' ? `${file} stayed locked by another Sureflash process`
      : code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM') ? `${file} cannot be written here (permissions?)`
      : `${file}`;
    throw new HistoryError('HISTORY_UNAVAILABLE', `could not ${action}: ${hint} (${message})`);
  }
}

const isoTime = (value: string, field: string): string => {
  const time = Date.parse(value);
  if (!Number.isFinite(time)) throw new HistoryError('INTERNAL', `history record: ${field} "${value}" is not a date`);
  return new Date(time).toISOString();
};
const count = (value: number, field: string): number => {
  if (!Number.isInteger(value) || value < 0) throw new HistoryError('INTERNAL', `history record: ${field} must be a whole number ≥ 0, not ${value}`);
  return value;
};

function toParams(flash: FlashRecord): Record<(typeof COLUMNS)[number], string | number | null> {
  const { card, outcome } = flash;
  if (card.cardId.trim() === '') throw new HistoryError('INTERNAL', 'history record: the card has no id');
  return {
    card_id: card.cardId, id_source: card.idSource, bus: card.bus, vendor: card.vendor, model: card.model, serial: card.serial,
    serial_scope: card.serialScope, cid: card.cid, size_bytes: card.sizeBytes, slot: card.slot, device: card.device,
    session_id: flash.sessionId, station: flash.station,
    started_at: isoTime(flash.startedAt, 'startedAt'),
    finished_at: flash.finishedAt === null ? null : isoTime(flash.finishedAt, 'finishedAt'),
    duration_ms: flash.durationMs, image_name: flash.image.name, image_hash: flash.image.hash, image_size: flash.image.size,
    bmap_name: flash.bmap?.name ?? null, bmap_hash: flash.bmap?.hash ?? null,
    status: outcome.status, error_code: outcome.errorCode, error_message: flash.errorMessage,
    retries: count(outcome.retries, 'retries'), rewritten_blocks: count(outcome.rewrittenBlocks, 'rewrittenBlocks'),
    bad_blocks: count(outcome.badBlocks, 'badBlocks'), skipped_blocks: count(outcome.skippedBlocks, 'skippedBlocks'),
    probe_ok: outcome.probe === null ? null : outcome.probe.ok ? 1 : 0,
    probe_claimed_bytes: outcome.probe?.claimedBytes ?? null, probe_real_bytes: outcome.probe?.realBytes ?? null,
    average_speed: outcome.averageSpeed, write_speed: outcome.writeSpeed,
    health: flash.health?.verdict ?? null, health_reasons: flash.health ? JSON.stringify(flash.health.reasons) : null,
  };
}

function fromRow(row: Row): FlashRow {
  const reasons = row.health_reasons ? (JSON.parse(row.health_reasons) as HealthReason[]) : [];
  return {
    id: row.id,
    card: {
      cardId: row.card_id, idSource: row.id_source as FlashRow['card']['idSource'], bus: row.bus as FlashRow['card']['bus'],
      vendor: row.vendor, model: row.model, serial: row.serial, serialScope: row.serial_scope as FlashRow['card']['serialScope'],
      cid: row.cid, sizeBytes: row.size_bytes, slot: row.slot, device: row.device,
    },
    sessionId: row.session_id,
    station: row.station,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.duration_ms,
    image: { name: row.image_name, hash: row.image_hash, size: row.image_size },
    bmap: row.bmap_name === null ? null : { name: row.bmap_name, hash: row.bmap_hash },
    outcome: {
      status: row.status as FlashStatus, errorCode: row.error_code, retries: row.retries, rewrittenBlocks: row.rewritten_blocks,
      badBlocks: row.bad_blocks, skippedBlocks: row.skipped_blocks,
      probe: row.probe_ok === null ? null : { ok: row.probe_ok === 1, claimedBytes: row.probe_claimed_bytes ?? 0, realBytes: row.probe_real_bytes },
      averageSpeed: row.average_speed, writeSpeed: row.write_speed,
    },
    errorMessage: row.error_message,
    health: row.health === null ? null : { verdict: row.health as 'keep' | 'watch' | 'retire', reasons },
  };
}

function summarise(rows: readonly FlashRow[]): CardSummary | null {
  const last = rows[rows.length - 1];
  const first = rows[0];
  if (!last || !first) return null;
  const withHealth = [...rows].reverse().find((r) => r.health !== null);
  return {
    card: last.card,
    flashes: rows.length,
    firstAt: first.startedAt,
    lastAt: last.startedAt,
    lastStatus: last.outcome.status,
    health: withHealth?.health?.verdict ?? null,
    totals: {
      retries: rows.reduce((n, r) => n + r.outcome.retries, 0),
      rewrittenBlocks: rows.reduce((n, r) => n + r.outcome.rewrittenBlocks, 0),
      badBlocks: rows.reduce((n, r) => n + r.outcome.badBlocks, 0),
    },
    trend: cardTrend(rows.map((r) => r.outcome)),
  };
}

function connect(file: string, options: OpenHistoryOptions): Connection {
  const create = options.create ?? true;
  if (!create && !existsSync(file)) {
    throw new HistoryError('HISTORY_UNAVAILABLE', `no history database at ${file}: nothing has been recorded there yet`);
  }
  if (create) guard(file, 'create its folder', () => mkdirSync(dirname(file), { recursive: true, mode: 0o700 }));
  let db: Connection;
  try {
    db = new Database(file, { fileMustExist: !create, timeout: options.busyTimeoutMs ?? 5000 });
  } catch (err) {
    const message = firstLine(err);
    if (/NODE_MODULE_VERSION|better_sqlite3\.node|bindings file|invalid ELF|cannot open shared object/i.test(message)) {
      throw new HistoryError(
        'HISTORY_UNAVAILABLE',
        `the SQLite module (better-sqlite3) does not load in this runtime (${message}); rebuild it: npm rebuild better-sqlite3`,
      );
    }
    return guard(file, 'open the history', () => { throw err; });
  }
  try {
    guard(file, 'open the history', () => {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      migrate(db, file);
    });
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Opens (by default creating) the history database `file`. */
export function openHistory(file: string, options: OpenHistoryOptions = {}): HistoryStore {
  const db = connect(file, options);
  const insert = db.prepare(`INSERT INTO flashes (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})`);
  const byCard: Statement<[string], Row> = db.prepare('SELECT * FROM flashes WHERE card_id = ? ORDER BY started_at, id');
  const all: Statement<[], Row> = db.prepare('SELECT * FROM flashes ORDER BY started_at, id');
  const bySession: Statement<[string], Row> = db.prepare('SELECT * FROM flashes WHERE session_id = ? ORDER BY started_at, id');
  const cardIds: Statement<[], { card_id: string }> = db.prepare('SELECT card_id FROM flashes GROUP BY card_id ORDER BY MAX(started_at) DESC, MAX(id) DESC');
  const prefix: Statement<[string], { card_id: string }> = db.prepare("SELECT DISTINCT card_id FROM flashes WHERE card_id LIKE ? ESCAPE '\\' ORDER BY card_id LIMIT 6");

  const flashes = (filter: HistoryFilter = {}): FlashRow[] =>
    guard(file, 'read the history', () => {
      const { cardId, sessionId } = filter;
      let rows: Row[];
      if (sessionId !== undefined) rows = bySession.all(sessionId).filter((r) => cardId === undefined || r.card_id === cardId);
      else if (cardId !== undefined) rows = byCard.all(cardId);
      else rows = all.all();
      return rows.map(fromRow);
    });
  const cardHistory = (cardId: string): FlashRow[] => guard(file, 'read the history', () => byCard.all(cardId).map(fromRow));

  return {
    file,
    record: (flash) => {
      const params = toParams(flash);
      return guard(file, 'record the flash', () => Number(insert.run(params).lastInsertRowid));
    },
    cardHistory,
    flashes,
    cards: (filter = {}) => {
      const ids =
        filter.cardId !== undefined || filter.sessionId !== undefined
          ? [...new Set(flashes(filter).reverse().map((r) => r.card.cardId))]
          : guard(file, 'read the history', () => cardIds.all().map((r) => r.card_id));
      return ids.map((id) => summarise(cardHistory(id))).filter((s): s is CardSummary => s !== null);
    },
    resolveCardId: (idOrPrefix) =>
      guard(file, 'read the history', () => {
        if (byCard.get(idOrPrefix)) return idOrPrefix;
        const matches = prefix.all(`${idOrPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`).map((r) => r.card_id);
        if (matches.length > 1) {
          throw new HistoryError('USAGE', `card "${idOrPrefix}" is ambiguous: it starts ${matches.slice(0, 5).join(', ')}${matches.length > 5 ? ', …' : ''}`);
        }
        return matches[0] ?? null;
      }),
    close: () => db.close(),
  };
}

/** Opens the history in a data folder (the app's userData, or the CLI's appDataDir()). */
export function openHistoryIn(dataDir: string, options: OpenHistoryOptions = {}): HistoryStore {
  return openHistory(historyFile(dataDir), options);
}
