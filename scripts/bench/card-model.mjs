// The card model of `npm run bench -- --cards`: the tests' card fixture (test/fixtures/card/card.py, FUSE)
// with its bus at SD-card speeds (one command at a time, 20 MB/s write, 80 MB/s read by default), its media
// in a sparse file on /dev/shm, behind a loop device; and the card's floor, measured with dd.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchError, measure, run } from './proc.mjs';
import { onCleanup } from './loop-device.mjs';

const CARD_SCRIPT = fileURLToPath(new URL('../../test/fixtures/card/card.py', import.meta.url));
/** Debian's interpreter, which has python3-fusepy (not a pyenv shim). */
const PYTHON = '/usr/bin/python3';
/** A common SD card. MB is 10^6 bytes. */
export const CARD_SPEEDS = { writeMBps: 20, readMBps: 80 };
/**
 * The card daemon's niceness: the model stands for hardware, which takes no host CPU, so the tools it
 * serves must not starve it (on two cores, a decoder at full speed otherwise delays its answers).
 */
const CARD_NICE = -10;

/**
 * @typedef {object} CardBus
 * @property {number} commands
 * @property {number} readSeconds    bus time scheduled for reads (bytes / speed)
 * @property {number} writeSeconds
 * @property {number} idleSeconds    bus time with no command: the host left the card idle
 * @property {number} overrunSeconds time commands took beyond their schedule: the daemon was too slow
 */

/**
 * @typedef {object} CardModel
 * @property {string} device    the loop device
 * @property {string} backing   the media, a sparse file (what a target check reads)
 * @property {number} size
 * @property {{ writeMBps: number, readMBps: number }} speeds
 * @property {() => CardBus} bus  the bus counters so far
 * @property {() => number} bytesWritten  bytes written to the card so far (the fixture's write counter)
 * @property {() => void} blank   every stored byte zero (between runs; the fixture has no discard)
 * @property {() => void} stop    detach, unmount, remove (also run at exit and on signals)
 */

/** Why the card model cannot run here, or null. */
export function cardModelMissing() {
  if (!existsSync(CARD_SCRIPT)) return `${CARD_SCRIPT} is missing`;
  if (!existsSync('/dev/fuse')) return '/dev/fuse is missing (FUSE)';
  const probe = spawnSync(PYTHON, ['-c', 'import fusepy'], { stdio: 'ignore' });
  if (probe.status !== 0) return `${PYTHON} cannot import fusepy: install python3-fusepy (and fuse3)`;
  return null;
}

/** @param {string} mountpoint */
function mounted(mountpoint) {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[4] === mountpoint);
}

/**
 * Starts the card fixture on a bus at `speeds`, with its media on /dev/shm, and attaches it to a loop device.
 * @param {{ size: number, speeds?: { writeMBps: number, readMBps: number }, parent?: string }} options
 * @returns {Promise<CardModel>}
 */
export async function startCardModel({ size, speeds = CARD_SPEEDS, parent = '/dev/shm' }) {
  const dir = mkdtempSync(join(parent, 'sureflash-bench-card-'));
  const mountpoint = join(dir, 'mnt');
  const backing = join(dir, 'media.bin');
  mkdirSync(mountpoint);
  const child = spawn('nice', ['-n', String(CARD_NICE), PYTHON, '-B', CARD_SCRIPT, '--backing', backing, '--size', String(size),
    '--mount', mountpoint, '--write-mbps', String(speeds.writeMBps), '--read-mbps', String(speeds.readMBps)],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (/** @type {string} */ chunk) => { stderr += chunk; });
  let device = '';
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (device) spawnSync('losetup', ['-d', device], { stdio: 'ignore' });
    if (mounted(mountpoint) && spawnSync('umount', [mountpoint], { stdio: 'ignore' }).status !== 0) {
      spawnSync('umount', ['--lazy', mountpoint], { stdio: 'ignore' });
    }
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (!mounted(mountpoint)) rmSync(dir, { recursive: true, force: true });
  };
  onCleanup(stop);
  for (let waited = 0; !mounted(mountpoint); waited += 50) {
    if (child.exitCode !== null || waited > 15_000) {
      stop();
      throw new BenchError(`the card model did not mount: ${stderr.trim() || 'no output'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  device = (await run('losetup', ['--find', '--show', join(mountpoint, 'card.img')])).trim();
  const control = join(mountpoint, '.control');
  return {
    device,
    backing,
    size,
    speeds,
    bus: () => JSON.parse(readFileSync(join(control, 'stats'), 'utf8')).bus,
    bytesWritten: () => JSON.parse(readFileSync(join(control, 'stats'), 'utf8')).bytesWritten,
    blank: () => writeFileSync(join(control, 'command'), 'blank'),
    stop,
  };
}

/**
 * Bus counters between two readings.
 * @param {CardBus} before
 * @param {CardBus} after
 * @returns {CardBus}
 */
export function busDelta(before, after) {
  return {
    commands: after.commands - before.commands,
    readSeconds: after.readSeconds - before.readSeconds,
    writeSeconds: after.writeSeconds - before.writeSeconds,
    idleSeconds: after.idleSeconds - before.idleSeconds,
    overrunSeconds: after.overrunSeconds - before.overrunSeconds,
  };
}

/**
 * The card's floor for `bytes` (the image's mapped amount): dd writes that much with O_DIRECT (4 MiB
 * blocks, fsync at the end), then reads it back with O_DIRECT, each timed like a tool (cache dropped).
 * Nothing can write and read back the mapped data on this card in less time than the two together.
 * @param {number} bytes
 * @returns {import('./tools.mjs').ToolSpec}
 */
export function ddFloorTool(bytes) {
  const count = [`count=${bytes}`, 'bs=4M', 'status=none'];
  return {
    name: 'dd floor',
    group: 'floor',
    writes: false,
    label: `dd write of the mapped ${(bytes / 1024 ** 2).toFixed(0)} MiB (oflag=direct conv=fsync), then dd read of it (iflag=direct)`,
    skip: null,
    sample: async (ctx) => {
      const w = await measure(ctx.workDir, ['dd', 'if=/dev/zero', `of=${ctx.device}`, ...count, 'iflag=count_bytes', 'oflag=direct', 'conv=fsync'],
        { nice: ctx.nice });
      const r = await measure(ctx.workDir, ['dd', `if=${ctx.device}`, 'of=/dev/null', ...count, 'iflag=direct,count_bytes'], { nice: ctx.nice });
      const failed = [w, r].find((m) => !m.ok);
      return {
        ok: !failed, wall: w.wall + r.wall, rssKiB: Math.max(w.rssKiB, r.rssKiB),
        note: failed ? `exit ${failed.exitCode}: ${failed.stderrTail}` : undefined,
        floor: { writeSeconds: w.wall, readSeconds: r.wall, writeMBps: bytes / 1e6 / w.wall, readMBps: bytes / 1e6 / r.wall },
      };
    },
  };
}
