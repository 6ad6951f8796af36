import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appDataDir, historyFile } from '../../src/main/history/data-dir';
import { openHistory, openHistoryIn, type HistoryStore } from '../../src/main/history/history-store';
import { MIGRATIONS, SCHEMA_VERSION, migrate } from '../../src/main/history/schema';
import { MB, flashRecord, sdCard, usbStickCard } from '../helpers/history-fixtures';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
let dir = '';
let store: HistoryStore | null = null;

beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'sureflash-history-'));
});
afterEach(async () => {
  store?.close();
  store = null;
  await fsp.rm(dir, { recursive: true, force: true });
});

const open = (): HistoryStore => (store = openHistory(join(dir, 'history.sqlite')));

describe('history store: record and read back', () => {
  it('keeps every field of a flash, times normalised to ISO, rows oldest first', () => {
    const s = open();
    const first = flashRecord({
      startedAt: '2025-03-01T10:00:00+01:00',
      sessionId: 'sess-1',
      outcome: { retries: 2, rewrittenBlocks: 7, skippedBlocks: 11, probe: { ok: false, claimedBytes: 64e9, realBytes: 8e9 } },
      errorMessage: 'x, "quoted"',
      health: { verdict: 'watch', reasons: [{ code: 'RETRIES', verdict: 'watch', message: 'Needed 2 retry passes.' }] },
    });
    const second = flashRecord({ startedAt: '2025-03-02T09:00:00.000Z', bmap: null, health: null, outcome: { probe: null, writeSpeed: null } });
    const id2 = s.record(second);
    const id1 = s.record(first);
    const rows = s.cardHistory(sdCard.cardId);
    expect(rows.map((r) => r.id)).toEqual([id1, id2]);
    expect(rows[0]).toEqual({ ...first, id: id1, startedAt: '2025-03-01T09:00:00.000Z' });
    expect(rows[1]).toEqual({ ...second, id: id2 });
  });

  it('refuses a record with a bad date or a negative count, and writes nothing', () => {
    const s = open();
    expect(() => s.record(flashRecord({ startedAt: 'yesterday' }))).toThrow(/startedAt "yesterday" is not a date/);
    expect(() => s.record(flashRecord({ outcome: { retries: -1 } }))).toThrow(/retries must be a whole number/);
    expect(() => s.record(flashRecord({ card: { ...sdCard, cardId: ' ' } }))).toThrow(/no id/);
    expect(s.flashes()).toEqual([]);
  });

  it('cards(): one summary per card, latest flashed first, with totals, the latest health and a trend', () => {
    const s = open();
    s.record(flashRecord({ startedAt: '2025-03-01T09:00:00Z' }));
    s.record(flashRecord({ startedAt: '2025-03-02T09:00:00Z', outcome: { retries: 1, rewrittenBlocks: 2 }, health: { verdict: 'watch', reasons: [] } }));
    s.record(flashRecord({ startedAt: '2025-03-03T09:00:00Z', outcome: { retries: 2, rewrittenBlocks: 4, writeSpeed: 10 * MB }, health: null }));
    s.record(flashRecord({ card: usbStickCard, startedAt: '2025-03-02T12:00:00Z' }));
    const cards = s.cards();
    expect(cards.map((c) => c.card.cardId)).toEqual([sdCard.cardId, usbStickCard.cardId]);
    expect(cards[0]).toMatchObject({
      flashes: 3,
      firstAt: '2025-03-01T09:00:00.000Z',
      lastAt: '2025-03-03T09:00:00.000Z',
      lastStatus: 'verified',
      health: 'watch',
      totals: { retries: 3, rewrittenBlocks: 6, badBlocks: 0 },
      trend: { flashes: 3, retries: 'worsening', speed: 'worsening' },
    });
    expect(cards[1]).toMatchObject({ flashes: 1, trend: { retries: 'unknown' } });
  });

  it('selects a station session’s flashes and cards (each card still summed over its whole history)', () => {
    const s = open();
    s.record(flashRecord({ startedAt: '2025-03-01T09:00:00Z', sessionId: 'old' }));
    s.record(flashRecord({ startedAt: '2025-03-02T09:00:00Z', sessionId: 'today' }));
    s.record(flashRecord({ card: usbStickCard, startedAt: '2025-03-02T09:05:00Z', sessionId: 'today' }));
    s.record(flashRecord({ card: usbStickCard, startedAt: '2025-03-02T10:00:00Z' }));
    expect(s.flashes({ sessionId: 'today' }).map((r) => r.card.cardId)).toEqual([sdCard.cardId, usbStickCard.cardId]);
    expect(s.flashes({ sessionId: 'today', cardId: usbStickCard.cardId })).toHaveLength(1);
    expect(s.cards({ sessionId: 'today' }).map((c) => [c.card.cardId, c.flashes])).toEqual([
      [usbStickCard.cardId, 2],
      [sdCard.cardId, 2],
    ]);
    expect(s.flashes({ sessionId: 'nope' })).toEqual([]);
  });

  it('resolves a card id exactly or by a unique prefix; an ambiguous prefix is a usage error naming the candidates', () => {
    const s = open();
    s.record(flashRecord());
    s.record(flashRecord({ card: usbStickCard }));
    s.record(flashRecord({ card: { ...usbStickCard, cardId: 'sn-sandisk-ultra-1' } }));
    expect(s.resolveCardId(sdCard.cardId)).toBe(sdCard.cardId);
    expect(s.resolveCardId('cid-0353')).toBe(sdCard.cardId);
    expect(() => s.resolveCardId('sn-sandisk')).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('sn-sandisk-ultra-1') }));
    expect(s.resolveCardId('%')).toBeNull();
    expect(s.resolveCardId('sn_')).toBeNull();
    expect(s.resolveCardId('nothing')).toBeNull();
  });
});

describe('history store: the file', () => {
  it('is SQLite in WAL mode at the current schema version, in the data folder it is given', () => {
    store = openHistoryIn(join(dir, 'data'));
    store.record(flashRecord());
    const file = historyFile(join(dir, 'data'));
    expect(store.file).toBe(file);
    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(raw.prepare('SELECT COUNT(*) AS n FROM flashes').get()).toEqual({ n: 1 });
    } finally {
      raw.close();
    }
  });

  it('create: false refuses a missing file and does not create it', () => {
    const file = join(dir, 'none.sqlite');
    expect(() => openHistory(file, { create: false })).toThrow(expect.objectContaining({ code: 'HISTORY_UNAVAILABLE', message: expect.stringContaining(file) }));
    expect(existsSync(file)).toBe(false);
  });

  it('a file that is not a database is HISTORY_UNAVAILABLE, named, and left as it was', async () => {
    const file = join(dir, 'notes.sqlite');
    await fsp.writeFile(file, 'these are my notes, not a database'.repeat(40));
    expect(() => openHistory(file)).toThrow(expect.objectContaining({ code: 'HISTORY_UNAVAILABLE', message: expect.stringContaining(`${file} is not a Sureflash history database`) }));
    expect(await fsp.readFile(file, 'utf8')).toMatch(/^these are my notes/);
  });

  it('a file from a newer Sureflash (higher schema version) is refused, not changed', () => {
    const file = join(dir, 'newer.sqlite');
    const raw = new Database(file);
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => openHistory(file)).toThrow(/written by a newer Sureflash \(history schema 99, this one knows 1\)/);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(99);
    check.close();
  });

  it('migrates an older file forward and keeps its rows (a second migration added for the test)', () => {
    const file = join(dir, 'old.sqlite');
    const old = openHistory(file);
    old.record(flashRecord());
    old.close();
    const next = [...MIGRATIONS, "ALTER TABLE flashes ADD COLUMN operator TEXT DEFAULT 'unknown';"];
    const raw = new Database(file);
    migrate(raw, file, next);
    migrate(raw, file, next);
    expect(raw.pragma('user_version', { simple: true })).toBe(2);
    expect(raw.prepare('SELECT card_id, operator FROM flashes').all()).toEqual([{ card_id: sdCard.cardId, operator: 'unknown' }]);
    raw.close();
    // The current program now meets a newer file and refuses it.
    expect(() => openHistory(file)).toThrow(/history schema 2, this one knows 1/);
  });
});

describe('history store: two processes at once', () => {
  /** Bundles a child script that can import the project's TypeScript; run it with runChild. */
  async function bundleChild(name: string, source: string): Promise<string> {
    const outfile = join(dir, `${name}.cjs`);
    await build({
      stdin: { contents: source, resolveDir: projectRoot, loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      packages: 'external',
      outfile,
      logLevel: 'silent',
    });
    return outfile;
  }

  /** Starts a bundled child; `lines` yields each line it prints, `exit` its exit code (with stderr on failure). */
  function runChild(bundle: string, args: string[]): { next: () => Promise<string>; exit: Promise<{ code: number | null; stderr: string }> } {
    const child = spawn(process.execPath, [bundle, ...args], {
      env: { ...process.env, NODE_PATH: join(projectRoot, 'node_modules') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines: string[] = [];
    const waiting: ((line: string) => void)[] = [];
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const waiter = waiting.shift();
        if (waiter) waiter(line);
        else lines.push(line);
      }
    });
    return {
      next: () => new Promise((resolve) => (lines.length > 0 ? resolve(lines.shift() ?? '') : waiting.push(resolve))),
      exit: new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr }))),
    };
  }

  it('a write waits for another process’s open write transaction instead of failing, and reads never wait', async () => {
    const file = join(dir, 'shared.sqlite');
    openHistory(file).close();
    const bundle = await bundleChild(
      'holder',
      `
      const Database = require('better-sqlite3');
      const db = new Database(process.argv[2]);
      db.exec('BEGIN IMMEDIATE');
      db.prepare("INSERT INTO flashes (card_id, id_source, started_at, image_name, status, retries, rewritten_blocks, bad_blocks, skipped_blocks, station) VALUES ('held', 'none', '2025-01-01T00:00:00.000Z', 'x.img', 'verified', 0, 0, 0, 0, 'child')").run();
      process.stdout.write('locked\\n');
      setTimeout(() => { db.exec('COMMIT'); db.close(); process.stdout.write('released\\n'); }, 400);
      `,
    );
    const child = runChild(bundle, [file]);
    expect(await child.next()).toBe('locked');
    const s = openHistory(file);
    store = s;
    // The child holds the write lock: a read goes ahead at once and does not see its uncommitted row.
    expect(s.flashes()).toEqual([]);
    // A write blocks in SQLite's busy handler until the child commits, then succeeds after the child's row.
    const id = s.record(flashRecord({ station: 'parent' }));
    const { code, stderr } = await child.exit;
    expect(code, stderr).toBe(0);
    expect(s.flashes().map((r) => [r.id < id, r.station])).toEqual([
      [true, 'child'],
      [false, 'parent'],
    ]);
  });

  it('a write that cannot get the lock within the busy timeout fails as HISTORY_UNAVAILABLE naming the file', async () => {
    const file = join(dir, 'shared.sqlite');
    openHistory(file).close();
    const bundle = await bundleChild(
      'holder-long',
      `
      const Database = require('better-sqlite3');
      const db = new Database(process.argv[2]);
      db.exec('BEGIN IMMEDIATE');
      process.stdout.write('locked\\n');
      process.stdin.resume();
      setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, 1000);
      `,
    );
    const child = runChild(bundle, [file]);
    expect(await child.next()).toBe('locked');
    const s = openHistory(file, { busyTimeoutMs: 50 });
    store = s;
    expect(() => s.record(flashRecord())).toThrow(expect.objectContaining({ code: 'HISTORY_UNAVAILABLE', message: expect.stringContaining(`${file} stayed locked`) }));
    expect((await child.exit).code).toBe(0);
  });

  it('two processes recording into one new file at once lose nothing', async () => {
    const file = join(dir, 'new.sqlite');
    const rounds = 200;
    const bundle = await bundleChild(
      'writer',
      `
      const { openHistory } = require(${JSON.stringify(join(projectRoot, 'src/main/history/history-store.ts'))});
      const [file, count] = process.argv.slice(2);
      const store = openHistory(file);
      const record = ${JSON.stringify(flashRecord({ station: 'child' }))};
      for (let i = 0; i < Number(count); i++) store.record({ ...record, startedAt: new Date(Date.UTC(2025, 0, 2, 0, 0, i)).toISOString() });
      store.close();
      `,
    );
    const child = runChild(bundle, [file, String(rounds)]);
    const s = openHistory(file);
    store = s;
    for (let i = 0; i < rounds; i += 1) {
      s.record(flashRecord({ card: usbStickCard, station: 'parent', startedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString() }));
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const { code, stderr } = await child.exit;
    expect(code, stderr).toBe(0);
    expect(s.cardHistory(sdCard.cardId).length).toBe(rounds);
    expect(s.cardHistory(usbStickCard.cardId).length).toBe(rounds);
  });
});

describe('appDataDir', () => {
  const home = '/home/tech';
  it('matches Electron’s userData for this app on each platform', () => {
    expect(appDataDir({ platform: 'linux', env: {}, home })).toBe('/home/tech/.config/sureflash');
    expect(appDataDir({ platform: 'linux', env: { XDG_CONFIG_HOME: '/data/cfg' }, home })).toBe('/data/cfg/sureflash');
    expect(appDataDir({ platform: 'linux', env: { XDG_CONFIG_HOME: 'relative' }, home })).toBe('/home/tech/.config/sureflash');
    expect(appDataDir({ platform: 'darwin', env: {}, home })).toBe('/home/tech/Library/Application Support/sureflash');
    expect(appDataDir({ platform: 'win32', env: { APPDATA: '/users/tech/AppData/Roaming' }, home })).toBe(join('/users/tech/AppData/Roaming', 'sureflash'));
  });
});
