import Database from 'better-sqlite3';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHistory } from '../../src/main/history/history-store';
import { assessHealth, type FlashOutcome } from '../../src/shared/health-rules';
import type { FlashRecord, HistoryExport } from '../../src/shared/history-types';
import { cliBuilt, runCli } from '../helpers/cli';
import { MB, flashRecord, sdCard, usbStickCard } from '../helpers/history-fixtures';

/** Splits RFC 4180 CSV text into rows of cells (quotes, doubled quotes, commas and newlines inside quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i += 1;
    } else cell += c;
  }
  return rows;
}

describe.skipIf(!cliBuilt())('sureflash history (built CLI, real database)', () => {
  let dir = '';
  let db = '';
  const env = { TZ: 'UTC' };

  beforeAll(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'sureflash-history-cli-'));
    db = join(dir, 'history.sqlite');
    const store = openHistory(db);
    // Three flashes of the same SD card, as a station would record them: health from the rules each time.
    const outcomes: Partial<FlashOutcome>[] = [
      { writeSpeed: 20 * MB },
      { writeSpeed: 18 * MB, retries: 1, rewrittenBlocks: 2 },
      { writeSpeed: 9 * MB, retries: 2, rewrittenBlocks: 5 },
    ];
    const past: FlashOutcome[] = [];
    outcomes.forEach((over, i) => {
      const record: FlashRecord = flashRecord({ startedAt: `2025-03-0${i + 1}T09:00:00Z`, sessionId: i === 2 ? 'tray-7' : `tray-${i}`, outcome: over });
      record.health = assessHealth(record.outcome, past);
      past.push(record.outcome);
      store.record(record);
    });
    // A second card in the last session, and one flash of it that was cancelled.
    store.record(flashRecord({ card: usbStickCard, startedAt: '2025-03-03T09:02:00Z', sessionId: 'tray-7', image: { name: 'os, "lab" build.img', hash: null, size: null } }));
    store.record(flashRecord({ card: usbStickCard, startedAt: '2025-03-03T10:00:00Z', outcome: { status: 'cancelled', errorCode: 'CANCELLED' }, health: null }));
    store.close();
  });

  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('lists the cards: identity, flash count, last result, health and trend', async () => {
    const result = await runCli(['history', '--db', db], { env });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^CARD\s+IDENTITY\s+FLASHES\s+LAST FLASH\s+LAST RESULT\s+HEALTH\s+TREND$/);
    expect(lines[1]).toMatch(new RegExp(`^${usbStickCard.cardId}\\s+SanDisk Cruzer Blade, 15.4 GB, serial 4C530001130508108204\\s+2\\s+2025-03-03 10:00\\s+cancelled\\s+KEEP\\s+—$`));
    expect(lines[2]).toMatch(new RegExp(`^${sdCard.cardId}\\s+SN32G, 31.9 GB, serial 1a2b3c4d\\s+3\\s+2025-03-03 09:00\\s+verified\\s+RETIRE\\s+retries worsening, speed worsening$`));
    expect(lines).toHaveLength(3);
  });

  it('shows one card’s past by a prefix of its id: each flash, the latest health reasons and the trend', async () => {
    const result = await runCli(['history', '--db', db, '--card', 'cid-0353'], { env });
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toContain(`Card ${sdCard.cardId} (id from the card’s CID)`);
    expect(out).toContain('3 flashes, 3 retries, 0 bad blocks in all; health RETIRE');
    expect(out).toContain('- Retries or write errors in 2 of its last 3 flashes.');
    const table = out.split('\n').filter((l) => /^2025-03-0\d/.test(l));
    expect(table).toHaveLength(3);
    expect(table[0]).toMatch(/^2025-03-01 09:00\s+os\.img\.xz\s+verified\s+0\s+0\s+0\s+20\.0 MB\/s\s+KEEP$/);
    expect(table[1]).toMatch(/^2025-03-02 09:00\s+os\.img\.xz\s+verified\s+1\s+2\s+0\s+18\.0 MB\/s\s+WATCH$/);
    expect(table[2]).toMatch(/^2025-03-03 09:00\s+os\.img\.xz\s+verified\s+2\s+5\s+0\s+9\.0 MB\/s\s+RETIRE$/);
    expect(out).toContain('Trend: retries worsening (0 → 1.5 a flash), speed worsening (20.0 → 13.5 MB/s), last 3 flashes');
  });

  it('exports a station session as CSV: a header and one row per flash, quoting what needs it', async () => {
    const result = await runCli(['history', '--db', db, '--session', 'tray-7', '--csv'], { env });
    expect(result.code, result.stderr).toBe(0);
    const [header, ...rows] = parseCsv(result.stdout);
    expect(header?.slice(0, 6)).toEqual(['flash_id', 'session_id', 'station', 'slot', 'device', 'card_id']);
    expect(rows).toHaveLength(2);
    const col = (name: string, row: string[] | undefined): string | undefined => row?.[header!.indexOf(name)];
    expect(rows.map((r) => col('card_id', r))).toEqual([sdCard.cardId, usbStickCard.cardId]);
    expect(col('image', rows[1])).toBe('os, "lab" build.img');
    expect(col('retries', rows[0])).toBe('2');
    expect(col('write_speed_bps', rows[0])).toBe('9000000');
    expect(col('health', rows[0])).toBe('retire');
    expect(col('health_reasons', rows[0])).toContain('RETRIES_RECURRING: ');
    expect(col('cid', rows[0])).toBe(sdCard.cid);
  });

  it('exports the whole history as JSON: every flash and every card with its summary', async () => {
    const result = await runCli(['history', '--db', db, '--json'], { env });
    expect(result.code, result.stderr).toBe(0);
    const exported = JSON.parse(result.stdout) as HistoryExport;
    expect(exported).toMatchObject({ format: 'sureflash-history', version: 1, filter: {} });
    expect(exported.flashes).toHaveLength(5);
    expect(exported.cards.map((c) => [c.card.cardId, c.flashes, c.health])).toEqual([
      [usbStickCard.cardId, 2, 'keep'],
      [sdCard.cardId, 3, 'retire'],
    ]);
  });

  it('a session in text: one line per flash with slot, card and verdict', async () => {
    const result = await runCli(['history', '--db', db, '--session', 'tray-7'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Session tray-7: 2 flashes\n/);
    expect(result.stdout).toContain(usbStickCard.slot!);
  });

  it('reads the app’s own history folder by default (XDG_CONFIG_HOME/sureflash), and says so when it is empty', async () => {
    const config = join(dir, 'config');
    const empty = await runCli(['history'], { env: { ...env, XDG_CONFIG_HOME: config } });
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toBe(`No flashes recorded yet (history: ${join(config, 'sureflash', 'history.sqlite')}).\n`);
    await fsp.mkdir(join(config, 'sureflash'), { recursive: true });
    await fsp.copyFile(db, join(config, 'sureflash', 'history.sqlite'));
    const full = await runCli(['history', '--json'], { env: { ...env, XDG_CONFIG_HOME: config } });
    expect((JSON.parse(full.stdout) as HistoryExport).flashes).toHaveLength(5);
  });

  it('refuses what it cannot answer, naming it: unknown or ambiguous card, missing or damaged file, bad options', async () => {
    const unknown = await runCli(['history', '--db', db, '--card', 'fp-1'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no flashes recorded for card "fp-1"');

    const ambiguous = await runCli(['history', '--db', db, '--card', ''], { env });
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('--card needs a value');

    const missing = await runCli(['history', '--db', join(dir, 'nope.sqlite')], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no history database at ${join(dir, 'nope.sqlite')}`);

    const damaged = join(dir, 'damaged.sqlite');
    await fsp.writeFile(damaged, Buffer.alloc(8192, 0x41));
    const bad = await runCli(['history', '--db', damaged], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${damaged} is not a Sureflash history database`);

    const both = await runCli(['history', '--csv', '--json'], { env });
    expect(both.code).toBe(2);
    const stray = await runCli(['history', 'extra'], { env });
    expect(stray.code).toBe(2);
  });

  it('an ambiguous card prefix is a usage error listing the candidates', async () => {
    const copy = join(dir, 'two-sticks.sqlite');
    await fsp.copyFile(db, copy);
    const raw = new Database(copy);
    raw.prepare("UPDATE flashes SET card_id = 'sn-sandisk-other' WHERE status = 'cancelled'").run();
    raw.close();
    const result = await runCli(['history', '--db', copy, '--card', 'sn-sandisk'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/card "sn-sandisk" is ambiguous: it starts sn-sandisk-cruzer_blade-4c530001130508108204, sn-sandisk-other/);
  });
});
