/**
 * Runs the built `sureflash` command (bin/sureflash.cjs over dist/main/cli.cjs) as a child process, the way
 * a user does, and collects its exit code, output, JSON report and (optionally) peak RSS.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BatchReport, FlashReport } from '../../src/shared/report';

/** uid and gid of the unprivileged user `nobody` (for checks that root would bypass), or null. */
export function nobodyUser(): { uid: number; gid: number } | null {
  const uid = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return null;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** The launcher script users run (`sureflash` in package.json "bin"). */
export const cliBin: string = fileURLToPath(new URL('../../bin/sureflash.cjs', import.meta.url));
const cliBundle = fileURLToPath(new URL('../../dist/main/cli.cjs', import.meta.url));
const timeProgram = '/usr/bin/time';

/** True when the CLI bundle is built (`node scripts/build.mjs`). */
export function cliBuilt(): boolean {
  return existsSync(cliBundle);
}

/** True when GNU time (Debian package `time`) is there to measure peak RSS. */
export function canMeasureRss(): boolean {
  return existsSync(timeProgram);
}

export interface CliRunOptions {
  /** Extra environment (merged over process.env), e.g. SUREFLASH_CHUNK_KIB. */
  env?: Record<string, string>;
  /**
   * Adds `--report FILE` right after the subcommand and parses the file afterwards (default true when the
   * first argument is copy or verify). The file is removed after reading.
   */
  report?: boolean;
  /** Runs under `/usr/bin/time -f %M` and fills peakRssKiB. Signals then reach time, not node: do not combine with onSpawn signals. */
  measureRss?: boolean;
  /** Called once the child is running (e.g. to send SIGINT later). */
  onSpawn?: (child: ChildProcess) => void;
  /** Kill the child with SIGKILL after this long (ms) and report it as hung (default 100 s). */
  timeoutMs?: number;
  /** A file fed to the CLI's standard input (for IMAGE "-"); otherwise stdin is /dev/null. */
  stdinFile?: string;
  /** Run as this user (needs root); the report's scratch dir is then opened to everyone. */
  user?: { uid: number; gid: number };
}

export interface CliResult {
  /** Exit code, or null when the process died by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The first card's report from the --report file, or null when none was written. */
  report: FlashReport | null;
  /** The --report file's JSON (the batch), or null. */
  batch: BatchReport | null;
  /** Peak resident set size of the CLI process in KiB (GNU time %M), with measureRss. */
  peakRssKiB: number | null;
  /** True when the run was killed by timeoutMs. */
  hung: boolean;
}

let counter = 0;
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A test worker that ends (timeout, crash) takes its CLI children with it instead of orphaning them. */
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
  child.on('close', () => live.delete(child));
}

/** Runs `sureflash ...args` and resolves when it exits (never rejects on a failing exit code). */
export async function runCli(args: string[], options: CliRunOptions = {}): Promise<CliResult> {
  if (!cliBuilt()) throw new Error('the CLI is not built: run `node scripts/build.mjs` first');
  const scratch = await fsp.mkdtemp(join(tmpdir(), 'sureflash-cli-'));
  if (options.user) await fsp.chmod(scratch, 0o777);
  try {
    const withReport = options.report ?? (args[0] === 'copy' || args[0] === 'verify');
    const reportPath = join(scratch, `report-${process.pid}-${counter++}.json`);
    const rssPath = join(scratch, 'rss.txt');
    const cliArgs = withReport ? [args[0] ?? '', '--report', reportPath, ...args.slice(1)] : args;
    const [command, argv] = options.measureRss
      ? [timeProgram, ['-f', '%M', '-o', rssPath, process.execPath, cliBin, ...cliArgs]]
      : [process.execPath, [cliBin, ...cliArgs]];
    const child = spawn(command, argv, {
      // The app's data folder (the flash history copy records into) lives in the scratch dir unless the test names one.
      env: { ...process.env, XDG_CONFIG_HOME: join(scratch, 'config'), ...options.env },
      stdio: [options.stdinFile ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      ...(options.user ?? {}),
    });
    if (options.stdinFile && child.stdin) {
      const input = createReadStream(options.stdinFile);
      // The CLI may stop reading early (a refused input): a closed pipe is expected then.
      child.stdin.on('error', () => undefined);
      input.on('error', () => child.stdin?.destroy());
      input.pipe(child.stdin);
    }
    track(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    options.onSpawn?.(child);
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 100_000);
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, s) => resolve({ code: c, signal: s }));
    }).finally(() => clearTimeout(timer));

    let report: FlashReport | null = null;
    let batch: BatchReport | null = null;
    if (withReport && existsSync(reportPath)) {
      batch = JSON.parse(await fsp.readFile(reportPath, 'utf8')) as BatchReport;
      report = batch.kind === 'batch' ? (batch.cards[0] ?? null) : null;
    }
    let peakRssKiB: number | null = null;
    if (options.measureRss) {
      // GNU time writes "Command exited with non-zero status N" before the figure when the command fails.
      const lines = (await fsp.readFile(rssPath, 'utf8')).trim().split('\n');
      peakRssKiB = Number(lines[lines.length - 1]);
      if (!Number.isFinite(peakRssKiB)) throw new Error(`unexpected output of time: ${lines.join(' | ')}`);
    }
    return { code, signal, stdout, stderr, report, batch, peakRssKiB, hung };
  } finally {
    await fsp.rm(scratch, { recursive: true, force: true });
  }
}

/** A compact description of a run for assertion messages. */
export function describeRun(result: CliResult): string {
  const error = result.report?.error ? ` ${result.report.error.code}: ${result.report.error.message}` : '';
  return `exit ${result.code}${result.signal ? ` (${result.signal})` : ''}${result.hung ? ' HUNG' : ''}, status ${result.report?.status ?? '-'}${error}\nstderr:\n${result.stderr}`;
}
