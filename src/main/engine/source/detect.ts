import type { Compression } from '../../../shared/report';

/** Bytes read from the start of an image to recognise its format. */
export const HEAD_BYTES = 4096;

const startsWith = (head: Uint8Array, magic: readonly number[], at = 0): boolean =>
  head.length >= at + magic.length && magic.every((byte, i) => head[at + i] === byte);

const le32 = (head: Uint8Array, at: number): number =>
  ((head[at] ?? 0) | ((head[at + 1] ?? 0) << 8) | ((head[at + 2] ?? 0) << 16) | ((head[at + 3] ?? 0) << 24)) >>> 0;

/**
 * Where the data starts after the skippable frames at the start of `head` (the frames zstd and lz4 share,
 * magic 0x184D2A50-5F; pzstd writes one before every frame): 0 when there are none, or `head.length` and
 * beyond when the frames run past the head.
 */
export function afterSkippableFrames(head: Uint8Array): number {
  let at = 0;
  while (at + 8 <= head.length && (le32(head, at) & 0xfffffff0) === 0x184d2a50) at += 8 + le32(head, at + 4);
  return at;
}

const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];

/** Recognises the container/compression from magic bytes (never from the file name). */
export function detectFormat(head: Uint8Array): Compression {
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip';
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (startsWith(head, ZSTD)) return 'zstd';
  const skipped = afterSkippableFrames(head);
  // Skippable frames, then a zstd frame (or more frames than the head holds: the decoder will tell).
  if (skipped > 0 && (skipped + 4 > head.length || startsWith(head, ZSTD, skipped))) return 'zstd';
  if (startsWith(head, [0x42, 0x5a, 0x68]) && head.length > 3 && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return 'zip';
  return 'none';
}
