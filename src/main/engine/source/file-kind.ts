import type { Stats } from 'node:fs';

/**
 * What a path that is not a regular file is, in words for a message: "a directory", "a FIFO (named pipe)",
 * "a character device", "a socket", "a block device"; null for a regular file.
 */
export function nonRegularKind(info: Pick<Stats, 'isFile' | 'isDirectory' | 'isFIFO' | 'isCharacterDevice' | 'isSocket' | 'isBlockDevice'>): string | null {
  if (info.isFile()) return null;
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isSocket()) return 'a socket';
  if (info.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}
