/**
 * The card fixture behind a loop device: starts test/fixtures/card/card.py (FUSE), attaches a loop device,
 * reads its counters, steers it (plans, stall, resume, blank), and cleans up — also when the test process
 * dies (a janitor). Options and counters: card-types.ts.
 *
 * A stalled card blocks every I/O on its loop device, and a process waiting on it sits in D state. Un-stick
 * it with resume() (the I/O then completes) or kill() (it fails with EIO); stop() resumes first, and the
 * janitor and the exit hook kill the daemon before they touch the loop device.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CardBlockPlan, CardOptions, CardStats } from './card-types';
import { attachLoop, readBytes, run, spawnJanitor, type LoopDevice } from './loop';
import { fusePython } from './root';

export type { CardBlockPlan, CardBusOptions, CardOptions, CardStats } from './card-types';

const script = fileURLToPath(new URL('../fixtures/card/card.py', import.meta.url));

/** Bus speeds used when `bus` is given without them: a common SD card. */
export const DEFAULT_BUS = { readMBps: 80, writeMBps: 20 } as const;

export interface Card {
  /** The working directory (removed by stop()). */
  dir: string;
  /** The card as served through FUSE (the loop device's backing file). */
  file: string;
  /** The sparse file holding what the media stores (realSize bytes); readable even after kill(). */
  backing: string;
  mountpoint: string;
  /** The loop device path, e.g. /dev/loop3 ('' when started with loop: false). */
  loop: string;
  /** The FUSE daemon's pid. */
  pid: number;
  stats(): Promise<CardStats>;
  /** Polls the counters until `ready` holds; throws after `ms` with the last counters. */
  waitFor(ready: (stats: CardStats) => boolean, what: string, ms?: number): Promise<CardStats>;
  /** Replace a whole plan; counters of past events are kept. */
  setFaults(plan: CardBlockPlan[]): Promise<void>;
  setReadErrors(plan: CardBlockPlan[]): Promise<void>;
  setWriteErrors(plan: CardBlockPlan[]): Promise<void>;
  /** Card I/O stops being answered (the FUSE calls block) until resume(), kill() or stop(). */
  stall(): Promise<void>;
  resume(): Promise<void>;
  /** Every stored byte becomes zero and the write cache is dropped (nothing written back). */
  blank(): Promise<void>;
  /** What the media stores at physical offset `offset` (= the card address unless counterfeit), from the backing file. */
  storedBytes(offset: number, length: number): Promise<Buffer>;
  /** The card vanishes: SIGKILL the FUSE daemon. The loop device stays, and its I/O fails (also I/O blocked by a stall). */
  kill(): Promise<void>;
  /** Resumes a stall, detaches the loop, unmounts, kills the daemon if needed and removes the dir. Safe to call twice. */
  stop(): Promise<void>;
  /** Everything the fixture wrote to stderr so far (for failure messages). */
  stderr(): string;
}

/**
 * Run by a janitor if the test process dies without stop(): $note = loop device, $1 = served file,
 * $2 = daemon pid, $3 = mountpoint, $4 = working dir. The daemon first (its death ends any I/O a stall
 * holds, with EIO, so nothing waits on the loop device), then the loop (the dead mount still resolves
 * its backing path), the mount and the files.
 */
const orphanCleanup = [
  'grep -q fixtures/card/card.py "/proc/$2/cmdline" 2>/dev/null && kill -9 "$2"',
  '[ -n "$note" ] && [ "$(cat "/sys/block/${note#/dev/}/loop/backing_file" 2>/dev/null)" = "$1" ] && losetup --detach "$note"',
  'umount --lazy "$3" 2>/dev/null',
  'grep -q " $3 " /proc/self/mountinfo || rm -rf --one-file-system "$4"',
].join('; ');

const live = new Set<() => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const cleanup of live) cleanup();
    live.clear();
  });
}

/** True when `mountpoint` appears in /proc/self/mountinfo. */
export function isMounted(mountpoint: string): boolean {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[4] === mountpoint);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  for (let waited = 0; !exited(child) && waited < ms; waited += 20) await delay(20);
  return exited(child);
}

/** The fixture's command line for `options`. */
function fixtureArgs(options: CardOptions, backing: string, mountpoint: string): string[] {
  const args = ['-B', script, '--backing', backing, '--size', String(options.size), '--mount', mountpoint,
    '--faults', JSON.stringify(options.faults ?? [])];
  if (options.readErrors) args.push('--read-errors', JSON.stringify(options.readErrors));
  if (options.writeErrors) args.push('--write-errors', JSON.stringify(options.writeErrors));
  if (options.realSize !== undefined) args.push('--real-size', String(options.realSize));
  if (options.overflow !== undefined) args.push('--overflow', options.overflow);
  if (options.cacheBlocks !== undefined) args.push('--cache-blocks', String(options.cacheBlocks));
  if (options.bus) {
    args.push('--read-mbps', String(options.bus.readMBps ?? DEFAULT_BUS.readMBps));
    args.push('--write-mbps', String(options.bus.writeMBps ?? DEFAULT_BUS.writeMBps));
    if (options.bus.slackMs !== undefined) args.push('--bus-slack-ms', String(options.bus.slackMs));
  }
  if (options.maxWrite !== undefined) args.push('--max-write', String(options.maxWrite));
  if (options.singleThreaded === true) args.push('--single-threaded');
  return args;
}

/** Starts the card fixture, waits until the card is mounted, and attaches it to a loop device. */
export async function startCard(options: CardOptions): Promise<Card> {
  const dir = await fsp.realpath(await fsp.mkdtemp(join(options.dir ?? tmpdir(), 'sureflash-card-')));
  const mountpoint = join(dir, 'mnt');
  const backing = join(dir, 'stored.bin');
  const file = join(mountpoint, 'card.img');
  const control = join(mountpoint, '.control');
  await fsp.mkdir(mountpoint);

  const child = spawn(fusePython, fixtureArgs(options, backing, mountpoint), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let spawnFailed = false;
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  child.on('error', (error) => {
    spawnFailed = true;
    stderr += `could not run ${fusePython}: ${error.message}\n`;
  });

  const janitor = spawnJanitor(orphanCleanup, [file, String(child.pid ?? 0), mountpoint, dir]);
  let loop: LoopDevice | null = null;
  let stopped = false;
  let stalled = false;
  const syncCleanup = (): void => {
    if (!exited(child)) child.kill('SIGKILL');
    if (loop !== null) spawnSync('losetup', ['--detach', loop.device], { stdio: 'ignore', timeout: 10_000 });
    spawnSync('umount', ['--lazy', mountpoint], { stdio: 'ignore', timeout: 10_000 });
  };
  installExitHook();
  live.add(syncCleanup);

  const writeControl = async (name: string, text: string, what: string): Promise<void> => {
    try {
      await fsp.writeFile(join(control, name), text);
    } catch (error) {
      throw new Error(`${what} rejected: ${(error as Error).message}\nfixture stderr:\n${stderr}`, { cause: error });
    }
  };

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const problems: string[] = [];
    // A stalled card holds the loop device's I/O: release it before detaching, or kill the daemon.
    if (stalled && !exited(child)) await writeControl('command', 'resume', 'resume').catch(() => child.kill('SIGKILL'));
    if (loop !== null) await loop.detach().catch((error: Error) => problems.push(error.message));
    if (isMounted(mountpoint)) {
      const plain = await run('umount', [mountpoint]);
      if (plain.code !== 0 && isMounted(mountpoint)) await run('umount', ['--lazy', mountpoint]);
    }
    if (!(await waitForExit(child, 5_000))) {
      child.kill('SIGKILL');
      await waitForExit(child, 5_000);
    }
    if (isMounted(mountpoint)) problems.push(`${mountpoint} is still mounted`);
    live.delete(syncCleanup);
    if (problems.length === 0) {
      await fsp.rm(dir, { recursive: true, force: true });
      janitor.release();
    }
    if (problems.length > 0) throw new Error(`card cleanup: ${problems.join('; ')}\nfixture stderr:\n${stderr}`);
  };

  try {
    for (let waited = 0; !isMounted(mountpoint); waited += 25) {
      if (exited(child) || spawnFailed) throw new Error(`card fixture exited (code ${child.exitCode}) before mounting`);
      if (waited > 15_000) throw new Error('card fixture did not mount within 15 s');
      await delay(25);
    }
    const st = await fsp.stat(file);
    if (st.size !== options.size) throw new Error(`card size ${st.size}, expected ${options.size}`);
    if (options.loop !== false) {
      loop = await attachLoop(file, options.loop ?? {});
      janitor.note(loop.device);
    }
  } catch (error) {
    await stop().catch(() => undefined);
    throw new Error(`${(error as Error).message}\nfixture stderr:\n${stderr}`, { cause: error });
  }

  const stats = async (): Promise<CardStats> => JSON.parse(await fsp.readFile(join(control, 'stats'), 'utf8')) as CardStats;
  return {
    dir,
    file,
    backing,
    mountpoint,
    loop: loop?.device ?? '',
    pid: child.pid ?? -1,
    stderr: () => stderr,
    stats,
    async waitFor(ready, what, ms = 20_000) {
      let last = await stats();
      for (let waited = 0; !ready(last); waited += 10) {
        if (waited >= ms) throw new Error(`card: ${what} did not happen within ${ms} ms; counters: ${JSON.stringify(last)}`);
        await delay(10);
        last = await stats();
      }
      return last;
    },
    setFaults: (plan) => writeControl('faults', JSON.stringify(plan), 'setFaults'),
    setReadErrors: (plan) => writeControl('read-errors', JSON.stringify(plan), 'setReadErrors'),
    setWriteErrors: (plan) => writeControl('write-errors', JSON.stringify(plan), 'setWriteErrors'),
    async stall() {
      stalled = true;
      await writeControl('command', 'stall', 'stall');
    },
    async resume() {
      await writeControl('command', 'resume', 'resume');
      stalled = false;
    },
    blank: () => writeControl('command', 'blank', 'blank'),
    storedBytes: (offset, length) => readBytes(backing, offset, length),
    async kill() {
      if (!exited(child)) child.kill('SIGKILL');
      if (!(await waitForExit(child, 5_000))) throw new Error(`fixture pid ${child.pid} survived SIGKILL`);
    },
    stop,
  };
}
