import { execFile, spawn, spawnSync } from 'node:child_process';
import { constants, existsSync, promises as fsp, realpathSync } from 'node:fs';
import type { Socket } from 'node:net';
import { basename } from 'node:path';

export { isRoot } from './root';

/** Outcome of one external command. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without a shell and resolves with its exit code and output (never rejects on exit code). */
export function run(command: string, args: string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr: stderr || (error?.message ?? '') });
    });
  });
}

/** Handle on a janitor process. */
export interface Janitor {
  /** Hands the janitor one more fact; the last one is `$note` in its script. */
  note(value: string): void;
  /** Everything was cleaned up: the janitor exits without acting. */
  release(): void;
}

/**
 * Starts a detached shell that waits on a pipe from this process and runs `onOrphan` (with `args` as
 * $1, $2, ...) only if this process dies without calling release() — even by SIGKILL, where no exit
 * hook runs. The vitest worker that runs a test can end that way.
 */
export function spawnJanitor(onOrphan: string, args: string[]): Janitor {
  const script = `note=; while read -r line; do [ "$line" = done ] && exit 0; note=$line; done; ${onOrphan}`;
  const child = spawn('sh', ['-c', script, 'janitor', ...args], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);
  child.unref();
  (child.stdin as unknown as Socket | null)?.unref();
  let released = false;
  return {
    note(value) {
      if (!released) child.stdin?.write(`${value.replace(/\n/g, ' ')}\n`);
    },
    release() {
      if (released) return;
      released = true;
      child.stdin?.end('done\n');
    },
  };
}

/** Shell snippet: detach loop device $1 if its backing file is still $2. */
const detachIfOurs =
  '[ "$(cat "/sys/block/${1#/dev/}/loop/backing_file" 2>/dev/null)" = "$2" ] && losetup --detach "$1"';

/** Options for `losetup`. */
export interface LoopOptions {
  /** Logical sector size in bytes (512, 1024, 2048, 4096): `--sector-size`. */
  sectorSize?: number;
  /** Loop device does direct I/O on its backing file: `--direct-io=on`. */
  directIo?: boolean;
  /** Attach read-only: `--read-only`. */
  readOnly?: boolean;
  /** Attach to this device (e.g. /dev/loop230, created when missing) instead of the first free one. */
  device?: string;
}

/** An attached loop device. `detach()` is idempotent and never throws for an already-gone device. */
export interface LoopDevice {
  device: string;
  file: string;
  detach(): Promise<void>;
}

const attached = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when a test run ends without its afterAll: free every loop device we attached.
  process.on('exit', () => {
    for (const device of attached) {
      spawnSync('losetup', ['--detach', device], { stdio: 'ignore', timeout: 10_000 });
      if (!isLoopAttached(device)) janitors.get(device)?.release();
    }
    attached.clear();
  });
}

/** True while `device` (e.g. /dev/loop3) has a backing file. */
export function isLoopAttached(device: string): boolean {
  return existsSync(`/sys/block/${basename(device)}/loop/backing_file`);
}

/** Loop devices whose backing file path starts with `pathPrefix` (from `losetup --list`). */
export async function loopsBackedBy(pathPrefix: string): Promise<string[]> {
  const result = await run('losetup', ['--list', '--noheadings', '--raw', '--output', 'NAME,BACK-FILE']);
  if (result.code !== 0) throw new Error(`losetup --list failed: ${result.stderr.trim()}`);
  return result.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/, 2))
    .filter((cols): cols is [string, string] => cols.length === 2 && cols[1]!.startsWith(pathPrefix))
    .map((cols) => cols[0]);
}

const janitors = new Map<string, Janitor>();

async function detachDevice(device: string): Promise<void> {
  // A busy device is only marked for auto-clear; poll until it is really free, retrying a few times.
  for (let attempt = 0; attempt < 5 && isLoopAttached(device); attempt += 1) {
    await run('losetup', ['--detach', device]);
    for (let waited = 0; waited < 2_000 && isLoopAttached(device); waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  if (isLoopAttached(device)) throw new Error(`could not detach ${device}; run: losetup --detach ${device}`);
  attached.delete(device);
  janitors.get(device)?.release();
  janitors.delete(device);
}

/** Attaches `file` to the first free loop device (`losetup --find --show`). Detached at process exit if not before. */
export async function attachLoop(file: string, options: LoopOptions = {}): Promise<LoopDevice> {
  const args = options.device === undefined ? ['--find', '--show'] : [];
  if (options.sectorSize !== undefined) args.push('--sector-size', String(options.sectorSize));
  if (options.directIo === true) args.push('--direct-io=on');
  if (options.readOnly === true) args.push('--read-only');
  if (options.device !== undefined) args.push(options.device);
  args.push(file);
  const result = await run('losetup', args);
  const device = options.device ?? result.stdout.trim();
  if (result.code !== 0 || !device.startsWith('/dev/loop')) {
    throw new Error(`losetup ${args.join(' ')} failed: ${result.stderr.trim() || result.stdout.trim()}`);
  }
  installExitHook();
  attached.add(device);
  janitors.set(device, spawnJanitor(detachIfOurs, [device, realpathSync(file)]));
  return { device, file, detach: () => detachDevice(device) };
}

/**
 * `count` loop devices that have no backing file now, numbered from `from` up (far above the ones
 * `losetup --find` hands out), so a test can name their slots before it attaches them.
 */
export function freeLoopDevices(count: number, from = 200): string[] {
  const found: string[] = [];
  for (let n = from; found.length < count && n < from + 1000; n += 1) {
    const device = `/dev/loop${n}`;
    if (!isLoopAttached(device)) found.push(device);
  }
  return found;
}

/** Detaches every loop device this process attached and has not detached yet. */
export async function detachAllLoops(): Promise<void> {
  for (const device of [...attached]) await detachDevice(device);
}

/**
 * A zeroed buffer whose memory starts on a page boundary, as O_DIRECT needs. Node Buffers are not
 * aligned; WebAssembly memory is (64 KiB pages).
 */
export function alignedBuffer(length: number): Buffer {
  const pages = Math.max(1, Math.ceil(length / 65_536));
  return Buffer.from(new WebAssembly.Memory({ initial: pages }).buffer, 0, length);
}

/** Reads up to `length` bytes at `offset` from `path` through the page cache (a plain file read). */
export async function readBytes(path: string, offset: number, length: number): Promise<Buffer> {
  const handle = await fsp.open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Reads `length` bytes at `offset` from `path` with O_DIRECT (offset and length aligned to the sector size). */
export async function readDirect(path: string, offset: number, length: number): Promise<Buffer> {
  const handle = await fsp.open(path, constants.O_RDONLY | constants.O_DIRECT);
  try {
    const buffer = alignedBuffer(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return Buffer.from(buffer.subarray(0, done));
  } finally {
    await handle.close();
  }
}

/** Writes `data` at `offset` to `path` with O_DIRECT (copied to an aligned buffer first). */
export async function writeDirect(path: string, offset: number, data: Uint8Array): Promise<void> {
  const handle = await fsp.open(path, constants.O_WRONLY | constants.O_DIRECT);
  try {
    const buffer = alignedBuffer(data.length);
    buffer.set(data);
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await handle.write(buffer, done, data.length - done, offset + done);
      done += bytesWritten;
    }
  } finally {
    await handle.close();
  }
}
