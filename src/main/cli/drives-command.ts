/**
 * `sureflash drives [--json] [--all] [--allow-loop]`: lists drives with the verdict of the drive-safety
 * rules. System drives are hidden unless --all; loop devices appear only with --allow-loop.
 */
import type { DriveInfo } from '../../shared/api';
import { evaluateDrives, type DriveVerdict } from '../../shared/drive-rules';
import { formatBytes } from '../../shared/format';
import { listDrives } from '../drives/list-drives';

export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export interface DrivesCommandDeps {
  /** Enumerator to use instead of drivelist (tests). */
  listDrives?: (options: { allowLoop: boolean }) => Promise<DriveInfo[]>;
}

export const DRIVES_USAGE = `Usage: sureflash drives [--json] [--all] [--allow-loop]

List the drives you can flash, with what Sureflash thinks of each.
  --json        print JSON: every drive's facts plus its verdict
  --all         also show system drives (hidden by default)
  --allow-loop  also list attached loop devices (for testing)
`;

interface DrivesOptions {
  json: boolean;
  all: boolean;
  allowLoop: boolean;
}

function parseArgs(argv: readonly string[]): DrivesOptions | { help: true } | { error: string } {
  const options: DrivesOptions = { json: false, all: false, allowLoop: false };
  for (const arg of argv) {
    if (arg === '--json') options.json = true;
    else if (arg === '--all' || arg === '-a') options.all = true;
    else if (arg === '--allow-loop') options.allowLoop = true;
    else if (arg === '--help' || arg === '-h') return { help: true };
    else return { error: `Unknown option for drives: ${arg}` };
  }
  return options;
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

function notes(verdict: DriveVerdict): string {
  const badges = verdict.badges.length > 0 ? `[${verdict.badges.join(', ')}]` : '';
  const reasons = verdict.reasons.map((r) => r.message);
  return [badges, ...reasons].filter(Boolean).join(' ');
}

/** A plain-text table, one row per drive, columns padded to their widest cell. */
function table(rows: { drive: DriveInfo; verdict: DriveVerdict }[]): string {
  const header = ['DEVICE', 'SIZE', 'DESCRIPTION', 'STATUS', 'NOTES'];
  const cells = rows.map(({ drive, verdict }) => [
    drive.device,
    formatBytes(drive.size),
    truncate(drive.description, 36),
    verdict.status,
    notes(verdict),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]): string =>
    c.map((cell, i) => (i === c.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

/** Runs the command; returns the process exit code (0 done, 1 enumeration failed, 2 usage error). */
export async function runDrivesCommand(argv: string[], io: CommandIo, deps: DrivesCommandDeps = {}): Promise<number> {
  const parsed = parseArgs(argv);
  if ('help' in parsed) {
    io.stdout.write(DRIVES_USAGE);
    return 0;
  }
  if ('error' in parsed) {
    io.stderr.write(`${parsed.error}\n\n${DRIVES_USAGE}`);
    return 2;
  }
  let drives: DriveInfo[];
  try {
    drives = await (deps.listDrives ?? listDrives)({ allowLoop: parsed.allowLoop });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    io.stderr.write(`Could not list drives: ${reason}\n`);
    return 1;
  }
  const evaluated = evaluateDrives(drives, { imageSize: null, imagePath: null, showHidden: parsed.all });
  const shown = evaluated.filter(({ verdict }) => verdict.status !== 'hidden');
  const hidden = evaluated.length - shown.length;

  if (parsed.json) {
    io.stdout.write(`${JSON.stringify(shown.map(({ drive, verdict }) => ({ ...drive, verdict })), null, 2)}\n`);
    return 0;
  }
  if (shown.length === 0) io.stdout.write('No drives found. Insert a card or USB drive.\n');
  else io.stdout.write(table(shown));
  if (hidden > 0) {
    io.stdout.write(`${hidden} system drive${hidden === 1 ? '' : 's'} hidden; use --all to show ${hidden === 1 ? 'it' : 'them'}.\n`);
  }
  return 0;
}
