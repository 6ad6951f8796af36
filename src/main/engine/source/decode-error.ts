import { EngineError } from '../errors';

export type FailureKind = 'truncated' | 'corrupt';

/** Formats the number of bytes with thousands separators, e.g. "1,048,576". */
const count = (n: number): string => n.toLocaleString('en-US');

/**
 * The error for a decoder that stopped early: names the file, the format, how many decompressed bytes
 * came out before the failure, and the decoder's own words.
 */
export function decodeFailure(path: string, format: string, kind: FailureKind, bytesOut: number, detail: string): EngineError {
  const clean = detail.trim().replace(/\s+/g, ' ').slice(0, 300);
  const why = clean ? ` (${clean})` : '';
  if (kind === 'truncated') {
    return new EngineError(
      'SOURCE_TRUNCATED',
      `${path}: the ${format} data ends too early, after ${count(bytesOut)} decompressed bytes${why}. The file is incomplete: download it again.`,
    );
  }
  return new EngineError(
    'SOURCE_CORRUPT',
    `${path}: the ${format} data is corrupt after ${count(bytesOut)} decompressed bytes${why}. Download the image again.`,
  );
}

const TRUNCATION_WORDS = /unexpected end|ended prematurely|premature end|ends unexpectedly|ended in middle|truncated|unexpected eof|end of file/i;

const CORRUPTION_WORDS = /corrupt|crc|check|invalid|bad|format|incorrect|mismatch|unknown|unsupported/i;

/** Decides truncated vs corrupt from a decoder message, or from whether all input had been read. */
export function classifyFailure(message: string, inputEnded: boolean): FailureKind {
  if (TRUNCATION_WORDS.test(message)) return 'truncated';
  if (CORRUPTION_WORDS.test(message)) return 'corrupt';
  return inputEnded ? 'truncated' : 'corrupt';
}
