import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attachLoop, readBytes, run, spawnJanitor, type LoopDevice, type LoopOptions } from './loop';
import { fusePython } from './root';

const script = fileURLToPath(new URL('../fixtures/worn-card/worn_card.py', import.meta.url));

/** The first `count` writes touching 4 KiB block `block` store one flipped byte; count -1: every write (dead block). */
export interface WornCardFault {
  block: number;
  count: number;
}

/** Counters kept by the fixture since it started (JSON of `.control/stats`). */
export interface WornCardStats {
  size: number;
  blockSize: number;
  /** FUSE write calls on the card (one loop request may become several, up to max_write each). */
  writes: number;
  bytesWritten: number;
  reads: number;
  bytesRead: number;
  corruptedWrites: number;
  /** Block number (as a string key) -> corrupted writes so far. */
  corruptedByBlock: Record<string, number>;
  /** Block number -> corruptions left in the current plan (-1: dead, 0: spent). */
  faultsLeft: Record<string, number>;
  /** The first 1000 flips: absolute byte offset on the card and the index of the write. */
  flips: { block: number; offset: number; write: number }[];
  pid: number;
}

export interface WornCardOptions {
  /** Card size in bytes, a multiple of 512. The backing file is sparse, so large cards cost nothing. */
  size: number;
  faults?: WornCardFault[];
  /** Parent directory for the card's working dir (default: the OS temp dir). */
  dir?: string;
  /** Options for the loop device, or false to serve the file without one. */
  loop?: LoopOptions | false;
  /** Largest single FUSE write/read the fixture asks for (the kernel caps it, at 128 KiB with libfuse 2). */
  maxWrite?: number;
}

export interface WornCard {
  /** The working directory (removed by stop()). */
  dir: string;
  /** The card as served through FUSE (the loop device's backing file). */
  file: string;
  /** The sparse file holding the stored bytes; readable even after kill(). */
  backing: string;
  mountpoint: string;
  /** The loop device path, e.g. /dev/loop3 ('' when started with loop: false). */
  loop: string;
  /** The FUSE daemon's pid. */
  pid: number;
  stats(): Promise<WornCardStats>;
  /** Replaces the whole fault plan; counters of past corruptions are kept. */
  setFaults(faults: WornCardFault[]): Promise<void>;
  /** The bytes the card really stores, read from the backing file (independent of FUSE and the loop). */
  storedBytes(offset: number, length: number): Promise<Buffer>;
  /** The card vanishes: SIGKILL the FUSE daemon. The loop device stays, and its I/O fails. */
  kill(): Promise<void>;
  /** Detaches the loop, unmounts, kills the daemon if needed and removes the dir. Safe to call twice. */
  stop(): Promise<void>;
  /** Everything the fixture wrote to stderr so far (for failure messages). */
  stderr(): string;
}

/**
 * Run by a janitor if the test process dies without stop(): $note = loop device, $1 = served file,
 * $2 = daemon pid, $3 = mountpoint, $4 = working dir. Loop first (while its backing path still
 * resolves), then the daemon, the mount and the files.
 */
const orphanCleanup = [
  '[ -n "$note" ] && [ "$(cat "/sys/block/${note#/dev/}/loop/backing_file" 2>/dev/null)" = "$1" ] && losetup --detach "$note"',
  'grep -q worn_card "/proc/$2/cmdline" 2>/dev/null && kill -9 "$2"',
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

/** Starts the worn-card FUSE fixture, waits until the card is mounted, and attaches it to a loop device. */
export async function startWornCard(options: WornCardOptions): Promise<WornCard> {
  const dir = await fsp.realpath(await fsp.mkdtemp(join(options.dir ?? tmpdir(), 'worn-card-')));
  const mountpoint = join(dir, 'mnt');
  const backing = join(dir, 'stored.bin');
  const file = join(mountpoint, 'card.img');
  const control = join(mountpoint, '.control');
  await fsp.mkdir(mountpoint);

  const args = [script, '--backing', backing, '--size', String(options.size), '--mount', mountpoint,
    '--faults', JSON.stringify(options.faults ?? [])];
  if (options.maxWrite !== undefined) args.push('--max-write', String(options.maxWrite));
  const child = spawn(fusePython, args, { stdio: ['ignore', 'ignore', 'pipe'] });
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
  const syncCleanup = (): void => {
    if (loop !== null) spawnSync('losetup', ['--detach', loop.device], { stdio: 'ignore', timeout: 10_000 });
    if (!exited(child)) child.kill('SIGKILL');
    spawnSync('umount', ['--lazy', mountpoint], { stdio: 'ignore', timeout: 10_000 });
  };
  installExitHook();
  live.add(syncCleanup);

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const problems: string[] = [];
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
    if (problems.length > 0) throw new Error(`worn card cleanup: ${problems.join('; ')}\nfixture stderr:\n${stderr}`);
  };

  try {
    for (let waited = 0; !isMounted(mountpoint); waited += 25) {
      if (exited(child) || spawnFailed) throw new Error(`worn card fixture exited (code ${child.exitCode}) before mounting`);
      if (waited > 15_000) throw new Error('worn card fixture did not mount within 15 s');
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

  return {
    dir,
    file,
    backing,
    mountpoint,
    loop: loop?.device ?? '',
    pid: child.pid ?? -1,
    stderr: () => stderr,
    async stats() {
      const text = await fsp.readFile(join(control, 'stats'), 'utf8');
      return JSON.parse(text) as WornCardStats;
    },
    async setFaults(faults) {
      try {
        await fsp.writeFile(join(control, 'faults'), JSON.stringify(faults));
      } catch (error) {
        throw new Error(`setFaults rejected: ${(error as Error).message}\nfixture stderr:\n${stderr}`, { cause: error });
      }
    },
    storedBytes: (offset, length) => readBytes(backing, offset, length),
    async kill() {
      if (!exited(child)) child.kill('SIGKILL');
      if (!(await waitForExit(child, 5_000))) throw new Error(`fixture pid ${child.pid} survived SIGKILL`);
    },
    stop,
  };
}
