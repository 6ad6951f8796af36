/**
 * The history database's schema and its migrations. The schema version is SQLite's user_version; each
 * migration takes the database from version i to i + 1 inside one IMMEDIATE transaction that re-reads the
 * version first, so two processes opening an old (or new, empty) file at once migrate it once. A file
 * with a higher version than this program knows was written by a newer Sureflash and is refused.
 */
import type { Database } from 'better-sqlite3';
import { HistoryError } from './history-error';

/** Migration i takes user_version i to i + 1. Append new ones; never edit a released one. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE flashes (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    card_id             TEXT    NOT NULL,
    id_source           TEXT    NOT NULL,
    bus                 TEXT,
    vendor              TEXT,
    model               TEXT,
    serial              TEXT,
    serial_scope        TEXT,
    cid                 TEXT,
    size_bytes          INTEGER,
    slot                TEXT,
    device              TEXT,
    session_id          TEXT,
    station             TEXT,
    started_at          TEXT    NOT NULL,
    finished_at         TEXT,
    duration_ms         INTEGER,
    image_name          TEXT    NOT NULL,
    image_hash          TEXT,
    image_size          INTEGER,
    bmap_name           TEXT,
    bmap_hash           TEXT,
    status              TEXT    NOT NULL CHECK (status IN ('verified', 'failed', 'cancelled', 'written-unverified')),
    error_code          TEXT,
    error_message       TEXT,
    retries             INTEGER NOT NULL CHECK (retries >= 0),
    rewritten_blocks    INTEGER NOT NULL CHECK (rewritten_blocks >= 0),
    bad_blocks          INTEGER NOT NULL CHECK (bad_blocks >= 0),
    skipped_blocks      INTEGER NOT NULL CHECK (skipped_blocks >= 0),
    probe_ok            INTEGER CHECK (probe_ok IN (0, 1)),
    probe_claimed_bytes INTEGER,
    probe_real_bytes    INTEGER,
    average_speed       REAL,
    write_speed         REAL,
    health              TEXT    CHECK (health IN ('keep', 'watch', 'retire')),
    health_reasons      TEXT
  );
  CREATE INDEX flashes_by_card ON flashes (card_id, started_at, id);
  CREATE INDEX flashes_by_session ON flashes (session_id) WHERE session_id IS NOT NULL;
  `,
];

/** The version this program writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

const versionOf = (db: Database): number => Number(db.pragma('user_version', { simple: true }));

/** Brings the database to the last migration's version; `file` names it in errors. */
export function migrate(db: Database, file: string, migrations: readonly string[] = MIGRATIONS): void {
  const known = migrations.length;
  const check = (version: number): void => {
    if (version > known) {
      throw new HistoryError(
        'HISTORY_UNAVAILABLE',
        `${file} was written by a newer Sureflash (history schema ${version}, this one knows ${known}): update Sureflash to read it`,
      );
    }
  };
  check(versionOf(db));
  if (versionOf(db) === known) return;
  db.exec('BEGIN IMMEDIATE');
  try {
    const start = versionOf(db);
    check(start);
    for (let version = start; version < known; version += 1) {
      db.exec(migrations[version] ?? '');
      db.pragma(`user_version = ${version + 1}`);
    }
    db.exec('COMMIT');
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw err;
  }
}
