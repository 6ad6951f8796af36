// The memory case: an 8 GiB image with ONE mapped range of 4 GiB of random data (cached on disk under the
// work dir), copied with its bmap to an 8 GiB /dev/shm-backed loop device. What matters is Sureflash's
// peak RSS: a range that size must never be held in memory, also not for checksum retries.
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, statfsSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './proc.mjs';
import { writeRandom } from './random-data.mjs';
import { bmapMappedBytes } from './images.mjs';

export const MEMORY_IMAGE_VERSION = 'sparse-8g-one-4g-range-v1';
const IMAGE_SIZE = 8 * 1024 ** 3;
const RANGE_OFFSET = 1024 ** 3;
const RANGE_BYTES = 4 * 1024 ** 3;

/** @param {string} file */
function memAvailableBytes(file = '/proc/meminfo') {
  return Number(/MemAvailable:\s*(\d+)/.exec(readFileSync(file, 'utf8'))?.[1] ?? 0) * 1024;
}

/** @param {string} dir */
function freeBytes(dir) {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/**
 * Whether the case fits: the target's written range lives in /dev/shm (RAM, no swap), the image on disk.
 * @param {string} workDir
 * @returns {{ fits: boolean, why: string }}
 */
export function memoryCaseFits(workDir) {
  const cached = existsSync(join(workDir, 'images', MEMORY_IMAGE_VERSION, 'complete.json'));
  const needRam = RANGE_BYTES + 4 * 1024 ** 3;
  const needDisk = cached ? 0 : RANGE_BYTES + 256 * 1024 ** 2;
  const ram = memAvailableBytes();
  const shm = freeBytes('/dev/shm');
  const disk = freeBytes(workDir);
  const gib = (/** @type {number} */ b) => `${(b / 1024 ** 3).toFixed(1)} GiB`;
  if (ram < needRam) return { fits: false, why: `needs ${gib(needRam)} of available RAM, ${gib(ram)} available` };
  if (shm < RANGE_BYTES + 1024 ** 3) return { fits: false, why: `needs ${gib(RANGE_BYTES + 1024 ** 3)} free on /dev/shm, ${gib(shm)} free` };
  if (disk < needDisk) return { fits: false, why: `needs ${gib(needDisk)} free in ${workDir}, ${gib(disk)} free` };
  return { fits: true, why: `RAM ${gib(ram)} available, /dev/shm ${gib(shm)} free, work dir ${gib(disk)} free` };
}

/**
 * Returns the cached memory-case image and bmap, building them when missing.
 * @param {string} workDir
 * @param {(msg: string) => void} log
 */
export async function ensureMemoryImage(workDir, log) {
  const dir = join(workDir, 'images', MEMORY_IMAGE_VERSION);
  const image = join(dir, 'sparse-8g.img');
  const bmap = `${image}.bmap`;
  const marker = join(dir, 'complete.json');
  if (existsSync(marker) && existsSync(image) && existsSync(bmap)) {
    log(`memory image: cached (${dir})`);
    return { image, bmap, imageSize: IMAGE_SIZE, mappedBytes: bmapMappedBytes(bmap) };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  log('memory image: writing a 4 GiB random range into an 8 GiB sparse file (once; cached)');
  writeFileSync(image, '');
  truncateSync(image, IMAGE_SIZE);
  const fd = openSync(image, 'r+');
  try {
    writeRandom(fd, RANGE_OFFSET, RANGE_BYTES, `${MEMORY_IMAGE_VERSION}/range`);
  } finally {
    closeSync(fd);
  }
  log('memory image: bmaptool create');
  await run('bmaptool', ['create', '-o', bmap, image]);
  const mappedBytes = bmapMappedBytes(bmap);
  writeFileSync(marker, `${JSON.stringify({ version: MEMORY_IMAGE_VERSION, imageSize: IMAGE_SIZE, mappedBytes,
    buildSeconds: Math.round((Date.now() - started) / 1000) }, null, 2)}\n`);
  return { image, bmap, imageSize: IMAGE_SIZE, mappedBytes };
}
