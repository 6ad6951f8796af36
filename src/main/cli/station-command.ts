/**
 * `sureflash station IMAGE`: arms the station service on IMAGE, prints what it will never touch, one line
 * per card event and (on a terminal) a live table of the running cards; Ctrl-C stops taking cards, a second
 * Ctrl-C cancels the running ones. Ends with the summary; exit 0 when every card taken was verified.
 */
import type { DriveInfo } from '../../shared/api';
import { formatBytes, formatDuration, formatEta, formatSpeed } from '../../shared/format';
import type { StationCardResult, StationCardProgress, StationEvent, StationSummary } from '../../shared/station';
import { stationExitCode, stationSizeLimit } from '../../shared/station-rules';
import { identifyMedium, mediaSequence } from '../drives/card-media';
import { listDrives } from '../drives/list-drives';
import { unmountDrive } from '../drives/unmount';
import { EngineError } from '../engine/errors';
import { probeImage } from '../engine/probe';
import { startEngineJob } from '../engine/worker-client';
import { appDataDir, historyFile } from '../history/data-dir';
import { createFlashHistory } from '../history/flash-recorder';
import { openHistory } from '../history/history-store';
import { createStationService } from '../station/station-service';
import type { StationServiceDeps } from '../station/types';
import { UsageError } from './flash-args';
import type { ProgressOutput } from './progress-display';
import { parseStationArgs, STATION_USAGE } from './station-args';

export interface StationIo {
  stdout: ProgressOutput;
  stderr: ProgressOutput;
  /** Where SIGINT and SIGTERM are listened to (process in the real CLI). */
  signals?: NodeJS.EventEmitter;
}

/** Replaces parts of the real station (tests). */
export type StationCommandDeps = Partial<Pick<StationServiceDeps, 'listDrives' | 'identify' | 'mediaKey' | 'unmount' | 'runEngine' | 'pollIntervalMs'>>;

const PHASE: Record<StationCardProgress['phase'], string> = {
  preparing: 'preparing',
  probing: 'checking capacity',
  writing: 'writing + reading back',
  verifying: 'verifying',
  retrying: 'rewriting',
  'final-check': 'final check',
  flushing: 'flushing',
  done: 'done',
};

const VERDICT: Record<StationCardResult['verdict'], string> = {
  verified: 'VERIFIED — remove',
  failed: 'FAILED',
  cancelled: 'CANCELLED — do not use',
  'written-unverified': 'WRITTEN, NOT VERIFIED',
  lost: 'LOST — removed mid-flash',
};

const clock = (): string => new Date().toTimeString().slice(0, 8);

function driveLine(d: { device: string; description: string; size: number | null }): string {
  return `${d.device}  ${d.description}${d.size ? `, ${formatBytes(d.size)}` : ''}`;
}

/** One line for a finished card: verdict, health and the numbers behind them. */
export function resultLine(r: StationCardResult): string {
  const s = r.summary;
  const why = s.error && r.verdict !== 'verified' ? ` (${s.error.code}: ${s.error.message})` : '';
  const health = r.health ? `; health ${r.health.verdict.toUpperCase()}${r.health.reasons.length > 0 && r.health.verdict !== 'keep' ? `: ${r.health.reasons.filter((x) => x.verdict !== 'keep').map((x) => x.message).join(' ')}` : ''}` : '';
  const numbers = `${s.retries} retr${s.retries === 1 ? 'y' : 'ies'}, ${s.rewrittenBlocks} rewritten, ${s.badBlocks} bad block${s.badBlocks === 1 ? '' : 's'}${s.skippedBlocks ? `, ${s.skippedBlocks} already right` : ''}`;
  const probe = s.probe ? `, probe ${s.probe.ok ? 'passed' : 'FAILED'}` : '';
  const speed = s.writeSpeed ?? s.averageSpeed;
  return `card ${r.card} ${r.device}: ${VERDICT[r.verdict]}${why}${health}; ${numbers}${probe}, ${formatSpeed(speed)}, ${formatDuration(s.durationMs)}`;
}

export function summaryLines(s: StationSummary): string[] {
  const parts = [`${s.verified} verified`];
  if (s.failed) parts.push(`${s.failed} failed`);
  if (s.lost) parts.push(`${s.lost} lost`);
  if (s.cancelled) parts.push(`${s.cancelled} cancelled`);
  if (s.writtenUnverified) parts.push(`${s.writtenUnverified} written, not verified`);
  return [
    `Station stopped: ${s.taken} card${s.taken === 1 ? '' : 's'} taken: ${parts.join(', ')}.`,
    `Health: ${s.health.keep} keep, ${s.health.watch} watch, ${s.health.retire} retire.`,
    `Session ${s.sessionId}: 'sureflash history --session ${s.sessionId} --csv' exports it.`,
  ];
}

/** The live table on a terminal: redrawn under the event lines. */
class LiveTable {
  private drawn = 0;
  private readonly rows = new Map<number, string>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly out: ProgressOutput) {}

  set(card: number, row: string | null): void {
    if (row === null) this.rows.delete(card);
    else this.rows.set(card, row);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.redraw();
    }, 200);
  }

  /** Writes event lines above the table. */
  print(text: string): void {
    this.erase();
    this.out.write(text);
    this.redraw();
  }

  end(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.erase();
  }

  private erase(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }

  private redraw(): void {
    this.erase();
    if (this.rows.size === 0) return;
    const columns = this.out.columns && this.out.columns > 0 ? this.out.columns : 100;
    const width = Math.max(40, columns - 1);
    const lines = [...this.rows.entries()].sort(([a], [b]) => a - b).map(([, row]) => row.slice(0, width));
    this.out.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}

function progressRow(card: number, device: string, p: StationCardProgress): string {
  const bar = '#'.repeat(Math.round(p.percent / 5)).padEnd(20, '.');
  return `  card ${card} ${device}  [${bar}] ${String(p.percent).padStart(3)}%  ${PHASE[p.phase]}  ${formatSpeed(p.speed)}  ${formatEta(p.etaSeconds)}${p.retries ? `  retries ${p.retries}` : ''}`;
}

export async function runStationCommand(argv: string[], io: StationIo, deps: StationCommandDeps = {}): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    io.stdout.write(STATION_USAGE);
    return 0;
  }
  const command = parseStationArgs(argv);
  const historyPath = command.history === false ? null : (command.history ?? historyFile(appDataDir()));
  const history = historyPath === null ? null : createFlashHistory(historyPath);
  if (historyPath !== null) {
    // Said before any card: a history that cannot be opened records nothing (the verdicts are not affected).
    try {
      openHistory(historyPath).close();
    } catch (err) {
      io.stderr.write(`sureflash: warning: ${err instanceof Error ? err.message : String(err)}: the cards will not be recorded in the history\n`);
    }
  }
  const station = createStationService({
    listDrives: deps.listDrives ?? (() => listDrives({ allowLoop: command.allowLoop })),
    probeImage: (path, options) => probeImage(path, options),
    identify: deps.identify ?? ((device, fingerprint) => identifyMedium(device, fingerprint)),
    mediaKey: deps.mediaKey ?? ((device) => mediaSequence(device)),
    unmount: deps.unmount ?? ((drive: DriveInfo) => unmountDrive(drive)),
    runEngine: deps.runEngine ?? ((job, handlers) => startEngineJob(job, handlers)),
    history,
    ...(deps.pollIntervalMs !== undefined ? { pollIntervalMs: deps.pollIntervalMs } : {}),
  });

  const tty = io.stdout.isTTY === true;
  const table = tty ? new LiveTable(io.stdout) : null;
  const print = (text: string): void => {
    if (table) table.print(`${text}\n`);
    else io.stdout.write(`${text}\n`);
  };
  const lastPlain = new Map<number, string>();
  const onEvent = (event: StationEvent): void => {
    switch (event.type) {
      case 'armed': {
        const o = event.options;
        print(`sureflash station: armed on ${event.image.path}${event.image.bmapPath ? ` (bmap ${event.image.bmapPath})` : o.bmapPath === null ? ' (no bmap: the whole image)' : ' (no bmap found: the whole image)'}`);
        print(`  station ${event.station}, session ${event.sessionId}`);
        print(
          `  up to ${o.maxCards} card${o.maxCards === 1 ? '' : 's'} at a time; retries ${o.retries}; readback ${o.readback ? 'on' : 'OFF'}; capacity probe ${o.probe ? 'on' : 'OFF'}; skip-identical ${o.skipIdentical ? 'on' : 'off'}; ` +
            `drives over ${formatBytes(stationSizeLimit(o.maxSizeBytes))} never taken; slots: ${o.slots.length > 0 ? o.slots.join(', ') : 'any'}`,
        );
        print(`  log: ${o.logFile ?? 'none'}; history: ${historyPath ?? 'not recorded'}`);
        print(event.untouched.length > 0 ? 'Never touched (present when armed):' : 'No drive present when armed.');
        for (const d of event.untouched) print(`  ${driveLine(d)}`);
        break;
      }
      case 'waiting':
        print(`[${clock()}] waiting for cards (Ctrl-C stops the station)`);
        break;
      case 'card-refused':
        print(`[${clock()}] not taken: ${driveLine(event.refusal)}: ${event.refusal.message}`);
        break;
      case 'card-taken': {
        const id = event.identity;
        const who = id ? [id.vendor, id.model].filter(Boolean).join(' ') || id.bus : 'identity unknown';
        print(`[${clock()}] card ${event.card} taken: ${driveLine(event)}; ${who}${id?.cardId ? `, card ${id.cardId}` : ''}${event.slot ? `; slot ${event.slot}` : ''}`);
        table?.set(event.card, `  card ${event.card} ${event.device}  preparing`);
        break;
      }
      case 'card-progress': {
        const p = event.progress;
        if (table) table.set(event.card, progressRow(event.card, event.device, p));
        else {
          const text = `${PHASE[p.phase]} ${Math.floor(p.percent / 25) * 25}%`;
          if (lastPlain.get(event.card) !== text) {
            lastPlain.set(event.card, text);
            print(`[${clock()}] card ${event.card} ${event.device}: ${text}`);
          }
        }
        break;
      }
      case 'card-done':
      case 'card-lost':
        table?.set(event.result.card, null);
        print(`[${clock()}] ${resultLine(event.result)}`);
        break;
      case 'card-removed':
        print(`[${clock()}] card ${event.card} taken out of ${event.device}`);
        break;
      case 'warning':
        print(`[${clock()}] warning: ${event.message}`);
        break;
      case 'stopping':
        print(
          event.cancelling
            ? `[${clock()}] cancelling the ${event.running} running card${event.running === 1 ? '' : 's'} (they will hold a partial image)`
            : event.running === 0
              ? `[${clock()}] stopping: no card is running`
              : `[${clock()}] stopping: no new cards; ${event.running} running card${event.running === 1 ? '' : 's'} will finish (Ctrl-C again cancels them)`,
        );
        break;
      case 'stopped':
        table?.end();
        for (const line of summaryLines(event.summary)) io.stdout.write(`${line}\n`);
        break;
    }
  };
  const unsubscribe = station.subscribe(onEvent);
  let interrupts = 0;
  const onInterrupt = (): void => {
    interrupts += 1;
    if (interrupts === 1) station.stop();
    else if (interrupts === 2) station.stop({ cancel: true });
    else process.exit(130);
  };
  io.signals?.on('SIGINT', onInterrupt);
  io.signals?.on('SIGTERM', onInterrupt);
  try {
    try {
      await station.arm(command.options);
    } catch (err) {
      table?.end();
      if (err instanceof EngineError && err.code === 'USAGE') throw new UsageError(err.message);
      io.stderr.write(`sureflash: error: ${err instanceof Error ? err.message : String(err)}\nThe station was not armed: nothing was written.\n`);
      return 1;
    }
    // Ctrl-C while the image was being checked: stop as soon as the station is armed.
    if (interrupts > 0) station.stop();
    const summary = await station.whenStopped();
    return summary ? stationExitCode(summary) : 1;
  } finally {
    io.signals?.off('SIGINT', onInterrupt);
    io.signals?.off('SIGTERM', onInterrupt);
    unsubscribe();
    history?.close();
  }
}
