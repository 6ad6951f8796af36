// Reproducible incompressible bytes: an AES-128-CTR keystream under a key derived from a seed string.
// The same seed and stream id always give the same bytes, so cached images can be rebuilt identically.
import { createCipheriv, createHash } from 'node:crypto';
import { writeSync } from 'node:fs';

const CHUNK = 4 * 1024 * 1024;

/**
 * Writes `length` pseudo-random bytes at `position` of an open file descriptor.
 * @param {number} fd
 * @param {number} position   byte offset in the file
 * @param {number} length
 * @param {string} seed       names the stream; different seeds give unrelated bytes
 */
export function writeRandom(fd, position, length, seed) {
  const digest = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-128-ctr', digest.subarray(0, 16), digest.subarray(16, 32));
  const zeros = Buffer.alloc(CHUNK);
  let done = 0;
  while (done < length) {
    const n = Math.min(CHUNK, length - done);
    const bytes = cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n));
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off, position + done + off);
    done += n;
  }
}

/**
 * A small seeded PRNG (mulberry32) for picking file sizes and names reproducibly.
 * @param {number} seed
 * @returns {() => number} uniform in [0, 1)
 */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
