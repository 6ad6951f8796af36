// An independent check, outside the timed part, that a tool really wrote the image: every mapped range of
// the bmap is read back from the loop device and hashed against the bmap's own checksum. A tool that is
// fast because it skipped work shows up as a failed sample instead of a good figure.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

const CHUNK = 8 * 1024 * 1024;

/**
 * @typedef {object} BmapRanges
 * @property {number} blockSize
 * @property {number} imageSize     a partial last block is hashed over the image's real bytes only
 * @property {string} checksumType  hash name for node:crypto (sha256, sha1)
 * @property {{ first: number, last: number, checksum: string }[]} ranges
 */

/**
 * Reads the ranges and checksums of a bmap file (bmap format 1.x/2.x).
 * @param {string} bmapFile
 * @returns {BmapRanges}
 */
export function readBmapRanges(bmapFile) {
  const xml = readFileSync(bmapFile, 'utf8');
  const blockSize = Number(/<BlockSize>\s*(\d+)\s*<\/BlockSize>/.exec(xml)?.[1]);
  const imageSize = Number(/<ImageSize>\s*(\d+)\s*<\/ImageSize>/.exec(xml)?.[1]);
  const checksumType = (/<ChecksumType>\s*(\w+)\s*<\/ChecksumType>/.exec(xml)?.[1] ?? 'sha1').toLowerCase();
  const ranges = [];
  for (const m of xml.matchAll(/<Range\s+chksum="([0-9a-fA-F]+)"\s*>\s*(\d+)(?:\s*-\s*(\d+))?\s*<\/Range>/g)) {
    const first = Number(m[2]);
    ranges.push({ first, last: m[3] === undefined ? first : Number(m[3]), checksum: (m[1] ?? '').toLowerCase() });
  }
  if (!Number.isFinite(blockSize) || !Number.isFinite(imageSize) || ranges.length === 0) {
    throw new Error(`${bmapFile}: no block size, image size or ranges`);
  }
  return { blockSize, imageSize, checksumType, ranges };
}

/**
 * Hashes every mapped range on `device` and compares with the bmap.
 * @param {string} device
 * @param {BmapRanges} bmap
 * @returns {{ ok: boolean, badRanges: number[] }}
 */
export function checkTarget(device, bmap) {
  const fd = openSync(device, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  /** @type {number[]} */
  const badRanges = [];
  try {
    bmap.ranges.forEach((range, index) => {
      const hash = createHash(bmap.checksumType);
      let pos = range.first * bmap.blockSize;
      const end = Math.min((range.last + 1) * bmap.blockSize, bmap.imageSize);
      while (pos < end) {
        const n = readSync(fd, buf, 0, Math.min(CHUNK, end - pos), pos);
        if (n <= 0) break;
        hash.update(buf.subarray(0, n));
        pos += n;
      }
      if (pos < end || hash.digest('hex') !== range.checksum) badRanges.push(index);
    });
  } finally {
    closeSync(fd);
  }
  return { ok: badRanges.length === 0, badRanges };
}
