// The many-ranges case of `npm run bench -- --cards`: a sparse image whose bmap has 50,000 small ranges, as
// a fragmented file system gives (files of a few blocks with holes between them), built once with
// `bmaptool create` and cached under the work dir. It runs on a /dev/shm loop device, where the copy is
// CPU-bound: what is measured is the per-range cost of a tool, not the card.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './proc.mjs';
import { seededRandom, writeRandom } from './random-data.mjs';

export const FRAGMENTED_IMAGE_VERSION = 'sparse-50k-ranges-v1';
/** Ranges in the bmap. */
export const FRAGMENTED_RANGES = 50_000;
const BLOCK = 4096;

/**
 * Range i: 1 to 4 blocks of random bytes, then a hole of 1 to 3 blocks (no two ranges touch, so bmaptool
 * keeps them apart). About 225,000 blocks: a 0.9 GB image with 0.5 GB mapped.
 * @returns {{ extents: { block: number, blocks: number }[], imageSize: number }}
 */
export function fragmentedLayout() {
  const rnd = seededRandom(50_000);
  /** @type {{ block: number, blocks: number }[]} */
  const extents = [];
  let block = 0;
  for (let i = 0; i < FRAGMENTED_RANGES; i += 1) {
    const blocks = 1 + Math.floor(rnd() * 4);
    extents.push({ block, blocks });
    block += blocks + 1 + Math.floor(rnd() * 3);
  }
  return { extents, imageSize: block * BLOCK };
}

/**
 * Returns the cached fragmented image and its bmap, building them when missing.
 * @param {string} workDir
 * @param {(msg: string) => void} log
 * @returns {Promise<{ image: string, bmap: string, imageSize: number, mappedBytes: number, ranges: number }>}
 */
export async function ensureFragmentedImage(workDir, log) {
  const dir = join(workDir, 'images', FRAGMENTED_IMAGE_VERSION);
  const image = join(dir, 'fragmented.img');
  const bmap = `${image}.bmap`;
  const marker = join(dir, 'complete.json');
  if (existsSync(marker) && existsSync(image) && existsSync(bmap)) {
    log(`fragmented image: cached (${dir})`);
    return JSON.parse(readFileSync(marker, 'utf8'));
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { extents, imageSize } = fragmentedLayout();
  log(`fragmented image: ${FRAGMENTED_RANGES} ranges of 1-4 blocks over ${(imageSize / 1e9).toFixed(2)} GB (once; cached)`);
  writeFileSync(image, '');
  truncateSync(image, imageSize);
  const fd = openSync(image, 'r+');
  let mappedBytes = 0;
  try {
    for (const [i, e] of extents.entries()) {
      writeRandom(fd, e.block * BLOCK, e.blocks * BLOCK, `${FRAGMENTED_IMAGE_VERSION}/${i}`);
      mappedBytes += e.blocks * BLOCK;
    }
  } finally {
    closeSync(fd);
  }
  log('fragmented image: bmaptool create');
  await run('bmaptool', ['create', '-o', bmap, image]);
  const ranges = (readFileSync(bmap, 'utf8').match(/<Range /g) ?? []).length;
  if (ranges !== FRAGMENTED_RANGES) throw new Error(`fragmented image: the bmap has ${ranges} ranges, expected ${FRAGMENTED_RANGES}`);
  const facts = { image, bmap, imageSize, mappedBytes, ranges };
  writeFileSync(marker, `${JSON.stringify(facts, null, 2)}\n`);
  return facts;
}
