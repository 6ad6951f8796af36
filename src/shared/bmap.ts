/** The block map (bmap) model, as parsed from bmaptool's XML formats 1.2 to 2.0. */

/**
 * Checksum algorithms a bmap may name: every one bmaptool accepts (Python's `hashlib.new`) that Node's
 * crypto also has, by the name `createHash` takes. Python's own spellings are mapped by `checksumTypeOf`.
 */
export const CHECKSUM_TYPES = [
  'md5',
  'sha1',
  'sha224',
  'sha256',
  'sha384',
  'sha512',
  'sha512-224',
  'sha512-256',
  'sha3-224',
  'sha3-256',
  'sha3-384',
  'sha3-512',
  'blake2b512',
  'blake2s256',
  'ripemd160',
  'sm3',
  'md5-sha1',
] as const;

export type ChecksumType = (typeof CHECKSUM_TYPES)[number];

/** Hex digest length of each checksum type. */
export const CHECKSUM_HEX_LENGTH: Readonly<Record<ChecksumType, number>> = {
  md5: 32,
  sha1: 40,
  sha224: 56,
  sha256: 64,
  sha384: 96,
  sha512: 128,
  'sha512-224': 56,
  'sha512-256': 64,
  'sha3-224': 56,
  'sha3-256': 64,
  'sha3-384': 96,
  'sha3-512': 128,
  blake2b512: 128,
  blake2s256: 64,
  ripemd160: 40,
  sm3: 64,
  'md5-sha1': 72,
};

/** Other spellings bmaptool accepts (Python's hashlib names and OpenSSL aliases), lower case. */
const CHECKSUM_ALIASES: ReadonlyMap<string, ChecksumType> = new Map(Object.entries({
  'ssl3-md5': 'md5',
  'sha-1': 'sha1',
  'ssl3-sha1': 'sha1',
  'sha-224': 'sha224',
  'sha2-224': 'sha224',
  'sha-256': 'sha256',
  'sha2-256': 'sha256',
  'sha-384': 'sha384',
  'sha2-384': 'sha384',
  'sha-512': 'sha512',
  'sha2-512': 'sha512',
  sha512_224: 'sha512-224',
  'sha-512/224': 'sha512-224',
  'sha2-512/224': 'sha512-224',
  sha512_256: 'sha512-256',
  'sha-512/256': 'sha512-256',
  'sha2-512/256': 'sha512-256',
  sha3_224: 'sha3-224',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
  blake2b: 'blake2b512',
  'blake2b-512': 'blake2b512',
  blake2s: 'blake2s256',
  'blake2s-256': 'blake2s256',
  ripemd: 'ripemd160',
  'ripemd-160': 'ripemd160',
  rmd160: 'ripemd160',
} satisfies Record<string, ChecksumType>));

/** The checksum type a bmap's <ChecksumType> text names (any case, surrounding white space ignored), or null. */
export function checksumTypeOf(text: string): ChecksumType | null {
  const name = text.trim().toLowerCase();
  const direct = CHECKSUM_TYPES.find((type) => type === name);
  return direct ?? CHECKSUM_ALIASES.get(name) ?? null;
}

/** One `<Range>`: blocks first..last inclusive, with the hex digest of their bytes when the bmap has one. */
export interface BmapRange {
  first: number;
  last: number;
  checksum: string | null;
}

export interface Bmap {
  /** Version string as written, e.g. "2.0". */
  version: string;
  major: number;
  minor: number;
  imageSize: number;
  blockSize: number;
  blocksCount: number;
  mappedBlocksCount: number;
  /** Null when the bmap carries no range checksums. */
  checksumType: ChecksumType | null;
  /** The bmap file's own checksum (BmapFileSHA1 / BmapFileChecksum), null when absent. */
  fileChecksum: string | null;
  ranges: BmapRange[];
}

/** A bmap's facts without its ranges (what a job keeps once its plan holds the ranges). */
export type BmapHeader = Omit<Bmap, 'ranges'>;

/** Bytes a range covers inside an image of `imageSize` bytes (the last block may be partial). */
export function rangeBytes(range: { first: number; last: number }, blockSize: number, imageSize: number): number {
  const start = range.first * blockSize;
  const end = Math.min((range.last + 1) * blockSize, imageSize);
  return Math.max(0, end - start);
}

/** Total mapped bytes of a bmap (partial last block counted by its real bytes). */
export function mappedBytes(bmap: Pick<Bmap, 'ranges' | 'blockSize' | 'imageSize'>): number {
  let total = 0;
  for (const r of bmap.ranges) total += rangeBytes(r, bmap.blockSize, bmap.imageSize);
  return total;
}
