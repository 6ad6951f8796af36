// Running commands for the benchmark: plain runs that must succeed, and measured runs under
// /usr/bin/time (wall seconds + peak RSS) after dropping the page cache.
import { spawn, spawnSync } from 'node:child_process';
import { openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** @type {Set<import('node:child_process').ChildProcess>} */
const active = new Set();
let stopping = false;

/** Thrown when a command would start after an interrupt: the benchmark is winding down. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

/** A failure of the benchmark's own setup, with a message meant for the user (printed without a stack). */
export class BenchError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'BenchError';
  }
}

/**
 * Spawns in a process group of its own and tracks the child, so an interrupted benchmark can stop the
 * whole tree (e.g. /usr/bin/time and the tool under it) before it releases the loop device.
 * @param {string} cmd
 * @param {string[]} args
 * @param {import('node:child_process').SpawnOptions} options
 */
function spawnTracked(cmd, args, options) {
  if (stopping) throw new Interrupted();
  const child = spawn(cmd, args, { ...options, detached: true });
  active.add(child);
  child.on('close', () => active.delete(child));
  child.on('error', () => active.delete(child));
  return child;
}

/**
 * Sends SIGTERM to the process group of every running child and resolves once they have all exited,
 * or after `timeoutMs`.
 * @param {number} [timeoutMs]
 * @returns {Promise<void>}
 */
export function stopChildren(timeoutMs = 5000) {
  stopping = true;
  const waits = [...active].map((child) => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
    child.once('close', () => resolve(undefined));
    try {
      if (child.pid) process.kill(-child.pid, 'SIGTERM');
    } catch {
      resolve(undefined);
    }
  }));
  return Promise.race([Promise.all(waits).then(() => undefined), new Promise((r) => setTimeout(r, timeoutMs))]);
}

/**
 * Runs a command to completion and resolves with its stdout; rejects with its stderr tail on a non-zero exit.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, stdout?: number | 'pipe' | 'ignore' }} [opts]
 * @returns {Promise<string>}
 */
export function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d) => { out += d; });
    child.stderr?.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${err.trim().slice(-800)}`));
    });
  });
}

/**
 * First line of a command's output (stdout or stderr), or null when the command is missing or fails.
 * @param {string} cmd
 * @param {string[]} args
 */
export function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return null;
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  return text.split('\n')[0] ?? null;
}

/** True when `cmd` can be found on PATH. @param {string} cmd */
export function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Writes dirty pages back and drops the page cache, dentries and inodes, so every measured run starts
 * from the same cold-ish state (images on disk are read from disk; tmpfs pages are not droppable).
 */
export function dropCaches() {
  spawnSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
  } catch {
    // Not fatal: the run is then warm for every tool alike. The header says whether dropping works.
  }
}

/**
 * @typedef {object} Measured
 * @property {boolean} ok           exit 0
 * @property {number} wall          wall seconds measured around the process (hrtime, ms precision)
 * @property {number} timeWall      wall seconds as /usr/bin/time reports them (%e, 10 ms precision)
 * @property {number} rssKiB        peak resident set size of the process (%M)
 * @property {number | null} exitCode
 * @property {string} stdout
 * @property {string} stderrTail
 */

/**
 * Runs one measured command under `/usr/bin/time -f '%e %M'`, stdout to /dev/null unless captured.
 * @param {string} workDir   where time's output file goes
 * @param {string[]} argv
 * @param {{ captureStdout?: boolean, dropCaches?: boolean, nice?: number }} [opts]  nice: run the command at
 *   this niceness (negative favours it over other work on a busy machine)
 * @returns {Promise<Measured>}
 */
export async function measure(workDir, argv, opts = {}) {
  if (opts.dropCaches !== false) dropCaches();
  const timeFile = join(workDir, 'time.out');
  rmSync(timeFile, { force: true });
  const devNull = opts.captureStdout ? null : openSync('/dev/null', 'w');
  const started = process.hrtime.bigint();
  const result = await new Promise((resolve, reject) => {
    // nice execs the command in place, so time still measures the command itself.
    const niced = opts.nice ? ['nice', '-n', String(opts.nice), ...argv] : argv;
    const child = spawnTracked('/usr/bin/time', ['-o', timeFile, '-f', '%e %M', ...niced], {
      stdio: ['ignore', devNull ?? 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d) => { out += d; });
    child.stderr?.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  if (devNull !== null) closeSync(devNull);
  let timeWall = Number.NaN;
  let rssKiB = Number.NaN;
  try {
    // time prefixes "Command exited with non-zero status N" on failure; the figures are on the last line.
    const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
    const [e, m] = (lines[lines.length - 1] ?? '').split(' ');
    timeWall = Number(e);
    rssKiB = Number(m);
  } catch {
    // left as NaN: reported as missing
  }
  return {
    ok: result.code === 0,
    wall,
    timeWall,
    rssKiB,
    exitCode: result.code,
    stdout: result.out,
    stderrTail: result.err.trim().slice(-600),
  };
}
