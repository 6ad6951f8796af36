/**
 * `sureflash history [--card ID] [--session ID] [--csv | --json] [--db FILE]`: the cards the station has
 * flashed (identity, flashes, last result, health, trend), one card's past flash by flash, or a station
 * session; --csv and --json export the same selection for a lab's records. Reads the history the app and
 * the station write (appDataDir()/history.sqlite unless --db) and never creates it.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatBytes, formatSpeed } from '../../shared/format';
import type { CardRecord, CardSummary, FlashRow, HistoryFilter } from '../../shared/history-types';
import { appDataDir, historyFile } from '../history/data-dir';
import { historyCsv, historyExport } from '../history/history-export';
import { HistoryError } from '../history/history-error';
import { openHistory } from '../history/history-store';
import type { CommandIo } from './drives-command';

export const HISTORY_USAGE = `Usage: sureflash history [--card ID] [--session ID] [--csv | --json] [--db FILE]

Show what Sureflash recorded about the cards it flashed.
  (no option)    every card: identity, flashes, last result, health verdict, trend
  --card ID      one card's flashes (ID or the start of one, as listed), with its trend
  --session ID   the flashes of one station session
  --csv          print the selected flashes as CSV (one row per flash)
  --json         print the selection as JSON (cards and flashes)
  --db FILE      read this history file instead of the app's
`;

interface HistoryOptions {
  card: string | null;
  session: string | null;
  format: 'text' | 'csv' | 'json';
  db: string | null;
}

function parse(argv: string[]): HistoryOptions | { help: true } | { error: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        card: { type: 'string' },
        session: { type: 'string' },
        csv: { type: 'boolean' },
        json: { type: 'boolean' },
        db: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { error: (err instanceof Error ? err.message : String(err)).replace(/\. To specify a positional.*$/s, '') };
  }
  if (values.help) return { help: true };
  if (values.csv && values.json) return { error: '--csv and --json cannot be used together' };
  for (const key of ['card', 'session', 'db'] as const) {
    if (values[key] !== undefined && values[key].trim() === '') return { error: `--${key} needs a value` };
  }
  return {
    card: values.card ?? null,
    session: values.session ?? null,
    format: values.csv ? 'csv' : values.json ? 'json' : 'text',
    db: values.db ?? null,
  };
}

/** A plain-text table, columns padded to their widest cell. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
/** Local date and time to the minute, "2025-03-01 09:00". */
function when(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

/** "SanDisk Cruzer Blade, 15.4 GB, serial 4C53… (card)". */
function identity(card: CardRecord): string {
  const name = [card.vendor, card.model].filter(Boolean).join(' ') || card.bus || 'unknown card';
  const serial = card.serial ? `serial ${card.serial}${card.serialScope && card.serialScope !== 'card' ? ` (${card.serialScope}'s)` : ''}` : null;
  return [name, card.sizeBytes ? formatBytes(card.sizeBytes) : null, serial].filter(Boolean).join(', ');
}

function result(row: FlashRow): string {
  return row.outcome.errorCode && row.outcome.status !== 'verified' ? `${row.outcome.status} (${row.outcome.errorCode})` : row.outcome.status;
}

const speed = (row: FlashRow): string => formatSpeed(row.outcome.writeSpeed ?? row.outcome.averageSpeed);
const health = (verdict: string | null | undefined): string => (verdict ? verdict.toUpperCase() : '—');

function cardsText(cards: CardSummary[]): string {
  if (cards.length === 0) return 'No flashes recorded yet.\n';
  return table(
    ['CARD', 'IDENTITY', 'FLASHES', 'LAST FLASH', 'LAST RESULT', 'HEALTH', 'TREND'],
    cards.map((c) => [c.card.cardId, identity(c.card), String(c.flashes), when(c.lastAt), c.lastStatus, health(c.health), trendWords(c)]),
  );
}

const trendWords = (c: CardSummary): string =>
  c.trend.retries === 'unknown' ? '—' : `retries ${c.trend.retries}, speed ${c.trend.speed}`;

function cardText(summary: CardSummary, rows: FlashRow[]): string {
  const last = [...rows].reverse().find((r) => r.health !== null);
  const lines = [
    `Card ${summary.card.cardId} (id from the ${summary.card.idSource === 'cid' ? 'card’s CID' : summary.card.idSource === 'serial' ? 'card’s serial' : 'content fingerprint: weak'})`,
    `  ${identity(summary.card)}${summary.card.slot ? `, last in slot ${summary.card.slot}` : ''}`,
    `  ${summary.flashes} flash${summary.flashes === 1 ? '' : 'es'}, ${summary.totals.retries} retries, ${summary.totals.badBlocks} bad blocks in all; health ${health(summary.health)}`,
    ...(last?.health?.reasons ?? []).map((r) => `  - ${r.message}`),
    '',
    table(
      ['DATE', 'IMAGE', 'RESULT', 'RETRIES', 'REWRITTEN', 'BAD BLOCKS', 'SPEED', 'HEALTH'],
      rows.map((r) => [when(r.startedAt), r.image.name, result(r), String(r.outcome.retries), String(r.outcome.rewrittenBlocks), String(r.outcome.badBlocks), speed(r), health(r.health?.verdict)]),
    ).trimEnd(),
    '',
    `Trend: ${summary.trend.summary}`,
  ];
  return `${lines.join('\n')}\n`;
}

function sessionText(session: string, rows: FlashRow[]): string {
  if (rows.length === 0) return `No flashes recorded in session ${session}.\n`;
  return `Session ${session}: ${rows.length} flash${rows.length === 1 ? '' : 'es'}\n${table(
    ['DATE', 'SLOT', 'CARD', 'IMAGE', 'RESULT', 'RETRIES', 'BAD BLOCKS', 'SPEED', 'HEALTH'],
    rows.map((r) => [when(r.startedAt), r.card.slot ?? '—', r.card.cardId, r.image.name, result(r), String(r.outcome.retries), String(r.outcome.badBlocks), speed(r), health(r.health?.verdict)]),
  )}`;
}

/** Runs the command; returns the exit code (0 shown, 1 history unreadable or card unknown, 2 usage error). */
export async function runHistoryCommand(argv: string[], io: CommandIo, env: { dataDir?: string } = {}): Promise<number> {
  const parsed = parse(argv);
  if ('help' in parsed) {
    io.stdout.write(HISTORY_USAGE);
    return 0;
  }
  if ('error' in parsed) {
    io.stderr.write(`sureflash: error: ${parsed.error}\n\n${HISTORY_USAGE}`);
    return 2;
  }
  const file = parsed.db ?? historyFile(env.dataDir ?? appDataDir());
  const filter: HistoryFilter = {};
  if (parsed.session !== null) filter.sessionId = parsed.session;
  try {
    // The app's own history not made yet is an empty history; a file named with --db must exist.
    const store = parsed.db === null && !existsSync(file) ? null : openHistory(file, { create: false });
    try {
      if (parsed.card !== null) {
        const cardId = store?.resolveCardId(parsed.card) ?? null;
        if (cardId === null) {
          io.stderr.write(`sureflash: error: no flashes recorded for card "${parsed.card}" in ${file}; run 'sureflash history' to list the cards\n`);
          return 1;
        }
        filter.cardId = cardId;
      }
      const flashes = store?.flashes(filter) ?? [];
      const cards = store?.cards(filter) ?? [];
      if (parsed.format === 'csv') io.stdout.write(historyCsv(flashes));
      else if (parsed.format === 'json') io.stdout.write(`${JSON.stringify(historyExport(cards, flashes, filter), null, 2)}\n`);
      else if (filter.cardId !== undefined && cards[0]) io.stdout.write(cardText(cards[0], store?.cardHistory(filter.cardId) ?? []));
      else if (parsed.session !== null) io.stdout.write(sessionText(parsed.session, flashes));
      else io.stdout.write(store ? cardsText(cards) : `No flashes recorded yet (history: ${file}).\n`);
      return 0;
    } finally {
      store?.close();
    }
  } catch (err) {
    if (err instanceof HistoryError) {
      io.stderr.write(`sureflash: error: ${err.message}\n`);
      return err.code === 'USAGE' ? 2 : 1;
    }
    throw err;
  }
}
