import type { Compression } from '../../../shared/report';

/** Bytes read from the start of an image to recognise its format. */
export const HEAD_BYTES = 4096;

const startsWith = (head: Uint8Array, magic: readonly number[]): boolean =>
  head.length >= magic.length && magic.every((byte, i) => head[i] === byte);

/** Formats recognised by their first bytes; "lz4" is recognised only to refuse it clearly. */
export type DetectedFormat = Compression | 'lz4';

/** Recognises the container/compression from magic bytes (never from the file name). */
export function detectFormat(head: Uint8Array): DetectedFormat {
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip';
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (startsWith(head, [0x42, 0x5a, 0x68]) && head.length > 3 && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return 'zip';
  if (startsWith(head, [0x04, 0x22, 0x4d, 0x18])) return 'lz4';
  return 'none';
}
