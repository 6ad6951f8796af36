// Loop devices backed by sparse files (on /dev/shm for the benchmark), detached and removed at exit,
// on error, and on SIGINT / SIGTERM.
import { spawnSync } from 'node:child_process';
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import { BenchError, run, stopChildren } from './proc.mjs';

/** @type {{ device: string, backing: string }[]} */
const attached = [];
/** @type {(() => void)[]} */
const cleanups = [];
let hooked = false;

/**
 * Detaches every loop device this process attached and deletes its backing file, then runs the cleanups
 * registered with onCleanup (newest first). Synchronous, idempotent.
 */
export function detachAll() {
  while (attached.length > 0) {
    const entry = attached.pop();
    if (!entry) break;
    spawnSync('losetup', ['-d', entry.device], { stdio: 'ignore' });
    rmSync(entry.backing, { force: true });
  }
  while (cleanups.length > 0) cleanups.pop()?.();
}

/**
 * Runs `cleanup` (synchronous) at exit, on error and on SIGINT / SIGTERM / SIGHUP, with the loop devices.
 * @param {() => void} cleanup
 */
export function onCleanup(cleanup) {
  hookExit();
  cleanups.push(cleanup);
}

function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', detachAll);
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping the running tool and detaching loop devices\n`);
      // A second signal while waiting ends the process at once; the exit hook still detaches.
      process.once(signal, () => process.exit(130));
      void stopChildren().finally(() => {
        detachAll();
        process.exit(130);
      });
    });
  }
}

/**
 * Creates a sparse backing file of `size` bytes and attaches it to the first free loop device.
 * @param {string} backing  backing file path
 * @param {number} size
 * @returns {Promise<string>} the loop device path
 */
export async function attachLoop(backing, size) {
  hookExit();
  writeFileSync(backing, '');
  truncateSync(backing, size);
  try {
    const device = (await run('losetup', ['--find', '--show', backing])).trim();
    attached.push({ device, backing });
    return device;
  } catch (error) {
    rmSync(backing, { force: true });
    throw error;
  }
}

/**
 * Empties a loop device between runs: discard punches holes in the tmpfs backing file, so every run
 * writes into a blank target and memory held by the previous run is released. `-f` because util-linux
 * blkdiscard refuses a device that holds a file system signature (the previous tool's ext4) when stdin is
 * a terminal, and only warns otherwise. Throws when the discard fails: a run must not start on a target
 * that still holds the previous tool's data.
 * @param {string} device
 */
export function blankDevice(device) {
  const r = spawnSync('blkdiscard', ['-f', device], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
    const stderr = (r.stderr ?? '').trim().replace(/\s*\n\s*/g, ' | ');
    throw new BenchError(`cannot blank ${device}: blkdiscard -f ${device} failed (${why})${stderr ? `: ${stderr}` : ''}`);
  }
}
