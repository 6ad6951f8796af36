import { createHash } from 'node:crypto';
import type { ChecksumType } from '../../../shared/bmap';

/**
 * The bmap file's own checksum, computed as bmaptool does: the raw bytes with the first occurrence of the
 * stored checksum text replaced by as many ASCII '0' characters, hashed with `type`. Returns null when the
 * stored text does not occur in the raw bytes at all (it was written with entities or is not there).
 */
export function computeBmapFileChecksum(raw: Uint8Array, storedText: string, type: ChecksumType): string | null {
  const needle = Buffer.from(storedText, 'utf8');
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const at = needle.length === 0 ? -1 : bytes.indexOf(needle);
  if (at < 0) return null;
  return createHash(type)
    .update(bytes.subarray(0, at))
    .update(Buffer.alloc(needle.length, 0x30))
    .update(bytes.subarray(at + needle.length))
    .digest('hex');
}
