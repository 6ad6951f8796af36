// The benchmark image set, built once and cached under the work dir, keyed by IMAGE_VERSION:
// a 2 GiB ext4 image populated from a directory of reproducible random files (mkfs.ext4 -d, no mount),
// its bmap, and .gz / .zst / .xz / .zip copies.
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, renameSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, have } from './proc.mjs';
import { writeRandom, seededRandom } from './random-data.mjs';

/** Change this when anything below changes the produced files: old caches are then rebuilt. */
export const IMAGE_VERSION = 'ext4-2g-470m-v1';

const IMAGE_SIZE = 2 * 1024 ** 3;
const PAYLOAD_BYTES = 470 * 1000 * 1000;
const FIXED_UUID = '5e1f1a50-0000-4000-8000-000000000001';
const FIXED_TIME = 1_700_000_000;

/**
 * @typedef {object} ImageSet
 * @property {string} dir
 * @property {string} bmap
 * @property {{ raw: string, gz: string, zst: string, xz: string, zip: string }} files
 * @property {{ imageSize: number, mappedBytes: number, payloadBytes: number, fileCount: number, sizes: Record<string, number> }} info
 */

/**
 * Lays out the payload directory: nested folders of random files, sizes log-uniform from 4 KiB to
 * 24 MiB, until PAYLOAD_BYTES is reached. Same output every time.
 * @param {string} dir
 * @returns {{ bytes: number, count: number }}
 */
function writePayload(dir) {
  const rnd = seededRandom(20261125);
  const folders = ['boot', 'usr/lib/firmware', 'usr/lib/modules', 'usr/share/data', 'opt/app', 'var/cache'];
  let bytes = 0;
  let count = 0;
  while (bytes < PAYLOAD_BYTES) {
    const logSize = Math.log(4096) + rnd() * (Math.log(24 * 1024 * 1024) - Math.log(4096));
    const size = Math.min(Math.round(Math.exp(logSize)), PAYLOAD_BYTES - bytes);
    const folder = join(dir, folders[Math.floor(rnd() * folders.length)] ?? 'misc');
    mkdirSync(folder, { recursive: true });
    const file = join(folder, `blob-${String(count).padStart(4, '0')}.bin`);
    const fd = openSync(file, 'w');
    try {
      writeRandom(fd, 0, size, `${IMAGE_VERSION}/file/${count}`);
    } finally {
      closeSync(fd);
    }
    utimesSync(file, FIXED_TIME, FIXED_TIME);
    bytes += size;
    count += 1;
  }
  return { bytes, count };
}

/** Number of bytes the sparse file really holds (its allocated blocks). @param {string} file */
function allocatedBytes(file) {
  return statSync(file).blocks * 512;
}

/**
 * Reads the mapped byte count from a bmap file (MappedBlocksCount x BlockSize).
 * @param {string} bmapFile
 */
export function bmapMappedBytes(bmapFile) {
  const xml = readFileSync(bmapFile, 'utf8');
  const blocks = Number(/<MappedBlocksCount>\s*(\d+)/.exec(xml)?.[1]);
  const blockSize = Number(/<BlockSize>\s*(\d+)/.exec(xml)?.[1]);
  return blocks * blockSize;
}

/**
 * Returns the cached image set, building whatever is missing.
 * @param {string} workDir
 * @param {(msg: string) => void} log
 * @returns {Promise<ImageSet>}
 */
export async function ensureImageSet(workDir, log) {
  const dir = join(workDir, 'images', IMAGE_VERSION);
  const marker = join(dir, 'complete.json');
  const raw = join(dir, 'image.img');
  const files = { raw, gz: `${raw}.gz`, zst: `${raw}.zst`, xz: `${raw}.xz`, zip: `${raw}.zip` };
  const bmap = `${raw}.bmap`;
  if (existsSync(marker)) {
    const info = JSON.parse(readFileSync(marker, 'utf8'));
    const { zip, ...older } = files;
    if (info.version === IMAGE_VERSION && Object.values(older).every((f) => existsSync(f)) && existsSync(bmap)) {
      // The .zip joined the set later: a cache from before gets it added, not rebuilt from scratch.
      if (!existsSync(zip)) {
        log('image set: adding the .zip');
        await zipTo(raw, zip);
        info.sizes = { ...info.sizes, zip: statSync(zip).size };
        writeFileSync(marker, `${JSON.stringify(info, null, 2)}\n`);
      }
      log(`image set: cached (${dir})`);
      return { dir, bmap, files, info };
    }
  }
  const base = await ensureRawImage(workDir, log);
  const started = Date.now();
  const payload = { bytes: base.info.payloadBytes, count: base.info.fileCount };

  log('image set: compressing (.gz, .zst, .xz, .zip)');
  const gzTool = have('pigz') ? ['pigz', ['-6', '-p', '2', '-c', raw]] : ['gzip', ['-6', '-c', raw]];
  await compressTo(/** @type {string} */ (gzTool[0]), /** @type {string[]} */ (gzTool[1]), files.gz);
  await compressTo('zstd', ['-q', '-3', '-T2', '-c', raw], files.zst);
  // Threaded xz writes independent blocks; the explicit block size keeps multithreaded decode possible.
  await compressTo('xz', ['-6', '-T2', '--block-size=32MiB', '-c', raw], files.xz);
  await zipTo(raw, files.zip);

  /** @type {Record<string, number>} */
  const sizes = {};
  for (const [k, f] of Object.entries(files)) sizes[k] = k === 'raw' ? allocatedBytes(f) : statSync(f).size;
  const info = {
    version: IMAGE_VERSION,
    imageSize: IMAGE_SIZE,
    mappedBytes: bmapMappedBytes(bmap),
    payloadBytes: payload.bytes,
    fileCount: payload.count,
    sizes,
    buildSeconds: base.info.buildSeconds + Math.round((Date.now() - started) / 1000),
  };
  writeFileSync(marker, `${JSON.stringify(info, null, 2)}\n`);
  log(`image set: built in ${info.buildSeconds} s`);
  return { dir, bmap, files, info };
}

/**
 * The raw image and its bmap only (what `--helper` needs), cached in the same directory as the full set:
 * a later full run compresses it instead of building it again.
 * @param {string} workDir
 * @param {(msg: string) => void} log
 * @returns {Promise<{ dir: string, raw: string, bmap: string, info: { imageSize: number, mappedBytes: number, payloadBytes: number, fileCount: number, buildSeconds: number } }>}
 */
export async function ensureRawImage(workDir, log) {
  const dir = join(workDir, 'images', IMAGE_VERSION);
  const marker = join(dir, 'raw.json');
  const raw = join(dir, 'image.img');
  const bmap = `${raw}.bmap`;
  if (existsSync(marker) && existsSync(raw) && existsSync(bmap)) {
    const info = JSON.parse(readFileSync(marker, 'utf8'));
    if (info.version === IMAGE_VERSION) {
      log(`image: cached (${raw})`);
      return { dir, raw, bmap, info };
    }
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const started = Date.now();

  log('image set: writing ~470 MB of reproducible random files');
  const payloadDir = join(dir, 'payload');
  const payload = writePayload(payloadDir);

  log('image set: mkfs.ext4 -d on a 2 GiB sparse file');
  writeFileSync(raw, '');
  truncateSync(raw, IMAGE_SIZE);
  await run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-L', 'sfbench', '-U', FIXED_UUID,
    '-E', `hash_seed=${FIXED_UUID},root_owner=0:0`, '-d', payloadDir, raw],
  { env: { ...process.env, E2FSPROGS_FAKE_TIME: String(FIXED_TIME) } });
  rmSync(payloadDir, { recursive: true, force: true });

  log('image set: bmaptool create');
  await run('bmaptool', ['create', '-o', bmap, raw]);
  const info = {
    version: IMAGE_VERSION,
    imageSize: IMAGE_SIZE,
    mappedBytes: bmapMappedBytes(bmap),
    payloadBytes: payload.bytes,
    fileCount: payload.count,
    buildSeconds: Math.round((Date.now() - started) / 1000),
  };
  writeFileSync(marker, `${JSON.stringify(info, null, 2)}\n`);
  return { dir, raw, bmap, info };
}

/**
 * Runs a compressor writing to stdout into `dest` (via a temporary name, so a half-written file is
 * never taken for a cached one).
 * @param {string} cmd
 * @param {string[]} args
 * @param {string} dest
 */
async function compressTo(cmd, args, dest) {
  const tmp = `${dest}.partial`;
  const out = openSync(tmp, 'w');
  try {
    await run(cmd, args, { stdout: out });
  } finally {
    closeSync(out);
  }
  renameSync(tmp, dest);
}

/**
 * The image as the single member of a .zip (deflate, level 6), the way vendors ship images for Etcher.
 * `zip -j` stores it under its bare name; written to a .partial file first like the others.
 * @param {string} raw
 * @param {string} dest
 */
async function zipTo(raw, dest) {
  const tmp = `${dest}.partial`;
  rmSync(tmp, { force: true });
  await run('zip', ['-q', '-6', '-j', tmp, raw]);
  renameSync(tmp, dest);
}
