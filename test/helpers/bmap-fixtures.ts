/**
 * Fixture helpers for anything that needs images with holes and matching bmaps: sparse images with
 * deterministic data, bmaps made by Debian's `bmaptool create` (the oracle), older-format variants derived
 * from a 2.0 bmap, and re-sealing of a hand-edited bmap's own checksum the way bmaptool computes it.
 * These helpers parse bmaptool's own output with regular expressions on purpose: they stay independent of
 * the parser under test.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash, getHashes, randomFillSync } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Bytes written at `offset`: either given `data`, or `length` deterministic pseudo-random bytes from `seed`. */
export type SparseExtent = { offset: number; data: Uint8Array } | { offset: number; length: number; seed?: number };

/** A sparse image: `size` bytes, holes everywhere except the extents (written in order). */
export interface SparseLayout {
  size: number;
  extents: SparseExtent[];
}

/** Deterministic, non-zero-heavy bytes (xorshift32), so ranges have distinct checksums. */
export function patternBytes(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Creates `dir/name` with holes (ftruncate) and the layout's extents written at their offsets. Returns the path. */
export async function makeSparseImage(dir: string, name: string, layout: SparseLayout): Promise<string> {
  const path = join(dir, name);
  const handle = await open(path, 'w');
  try {
    await handle.truncate(layout.size);
    for (const [i, extent] of layout.extents.entries()) {
      const data = 'data' in extent ? extent.data : patternBytes(extent.length, extent.seed ?? i + 1);
      if (extent.offset + data.length > layout.size) {
        throw new Error(`extent ${i} (${extent.offset}+${data.length}) runs past the image size ${layout.size}`);
      }
      await handle.write(data, 0, data.length, extent.offset);
    }
  } finally {
    await handle.close();
  }
  return path;
}

let bmaptoolChecked: boolean | null = null;

/**
 * A sparse image of `size` bytes holding `length` random bytes at `offset` (written 8 MiB at a time, never
 * all in memory), and its bmap made by bmaptool next to it.
 */
export async function makeRandomSparseImage(dir: string, name: string, size: number, offset: number, length: number): Promise<{ path: string; bmap: string }> {
  const path = await makeSparseImage(dir, name, { size, extents: [] });
  const handle = await open(path, 'r+');
  try {
    const chunk = Buffer.alloc(Math.min(8 * 1024 * 1024, length));
    for (let done = 0; done < length; done += chunk.length) {
      const n = Math.min(chunk.length, length - done);
      randomFillSync(chunk, 0, n);
      await handle.write(chunk, 0, n, offset + done);
    }
  } finally {
    await handle.close();
  }
  const bmap = `${path}.bmap`;
  await bmaptoolCreate(path, bmap);
  return { path, bmap };
}

/** True when `bmaptool` (Debian package bmap-tools) can be run; use it to skip oracle tests visibly. */
export function bmaptoolAvailable(): boolean {
  bmaptoolChecked ??= spawnSync('bmaptool', ['--version'], { stdio: 'ignore' }).status === 0;
  return bmaptoolChecked;
}

/** Runs `bmaptool create [--no-checksum] -o bmapPath image` and returns the bmap's text. */
export async function bmaptoolCreate(
  image: string,
  bmapPath: string,
  options: { noChecksum?: boolean } = {},
): Promise<string> {
  const args = ['create', ...(options.noChecksum ? ['--no-checksum'] : []), '-o', bmapPath, image];
  await run('bmaptool', args);
  return readFile(bmapPath, 'utf8');
}

/** Runs `bmaptool copy --bmap bmap image dest` (dest a regular file); rejects when bmaptool refuses. */
export async function bmaptoolCopy(image: string, bmap: string, dest: string): Promise<void> {
  await run('bmaptool', ['copy', '--bmap', bmap, image, dest]);
}

/** node:crypto's name for a hashlib name bmaptool accepts (sha3_256 -> sha3-256, blake2b -> blake2b512). */
export function nodeHashName(type: string): string {
  const name = type.toLowerCase().replaceAll('_', '-');
  return name === 'blake2b' ? 'blake2b512' : name === 'blake2s' ? 'blake2s256' : name;
}

/** Hex digest length per checksum name. */
const HEX_LENGTH: Readonly<Record<string, number>> = { sha1: 40, sha256: 64, sha512: 128 };

/**
 * Recomputes a bmap's own checksum the bmaptool way (the checksum text replaced by ASCII '0', the whole
 * file hashed, the digest written back in place). Handles <BmapFileSHA1> (sha1) and <BmapFileChecksum>
 * (type from <ChecksumType>). Use it after editing a bmap so only the intended defect remains.
 */
export function resealBmap(xml: string): string {
  const field = /<(BmapFileSHA1|BmapFileChecksum)>(\s*)([^<]*?)(\s*)<\/\1>/.exec(xml);
  if (!field) return xml;
  const type =
    field[1] === 'BmapFileSHA1' ? 'sha1' : (/<ChecksumType>\s*([^<\s]+)\s*</.exec(xml)?.[1] ?? 'sha256').toLowerCase();
  // A type node:crypto does not know (a test of the refusal) is sealed with sha256: the parser stops first.
  const hashName = getHashes().includes(nodeHashName(type)) ? nodeHashName(type) : 'sha256';
  const zeros = '0'.repeat(HEX_LENGTH[type] ?? createHash(hashName).digest('hex').length);
  const [whole, tag, lead, , trail] = field;
  const zeroed = `<${tag}>${lead}${zeros}${trail}</${tag}>`;
  const blank = xml.slice(0, field.index) + zeroed + xml.slice(field.index + whole.length);
  const digest = createHash(hashName).update(blank, 'utf8').digest('hex');
  return blank.replace(zeroed, `<${tag}>${lead}${digest}${trail}</${tag}>`);
}

/** Hex digest of blocks first..last of an image file, over its real bytes (a partial last block is not padded). */
export function digestOfBlocks(
  image: string,
  blockSize: number,
  first: number,
  last: number,
  type: string = 'sha256',
): string {
  const hash = createHash(type);
  const fd = openSync(image, 'r');
  try {
    const buffer = Buffer.alloc(1024 * 1024);
    let position = first * blockSize;
    const end = (last + 1) * blockSize;
    while (position < end) {
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, end - position), position);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      position += n;
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Derives an older-format bmap from bmaptool's 2.0 output.
 * - '1.4': the same document with version="1.4" (1.4 is 2.0 misnumbered), resealed.
 * - '1.3': no <ChecksumType>; <BmapFileSHA1> instead of <BmapFileChecksum>; ranges carry sha1="..."
 *   recomputed from `image` (dropped when no image is given); resealed with sha1.
 * - '1.2': like 1.3 but without any file checksum element.
 */
export function deriveBmapVersion(v2xml: string, version: '1.2' | '1.3' | '1.4', image?: string): string {
  let xml = v2xml.replace(/<bmap version="[^"]*">/, `<bmap version="${version}">`);
  if (version === '1.4') return resealBmap(xml);
  const blockSize = Number(/<BlockSize>\s*(\d+)\s*</.exec(xml)?.[1]);
  xml = xml.replace(/(?:[ \t]*<!-- Type of checksum[^\n]*\n)?[ \t]*<ChecksumType>[^<]*<\/ChecksumType>\n\n?/, '');
  xml = xml.replace(/<Range(?: chksum="[^"]*")?>\s*(\d+)(?:-(\d+))?\s*<\/Range>/g, (_m, a: string, b?: string) => {
    const first = Number(a);
    const last = b === undefined ? first : Number(b);
    const attr = image ? ` sha1="${digestOfBlocks(image, blockSize, first, last, 'sha1')}"` : '';
    return `<Range${attr}> ${b === undefined ? a : `${a}-${b}`} </Range>`;
  });
  if (version === '1.2') return xml.replace(/[ \t]*<BmapFileChecksum>[^<]*<\/BmapFileChecksum>\n?/, '');
  const zeros = '0'.repeat(40);
  xml = xml.replace(/<BmapFileChecksum>(\s*)[^<\s]*(\s*)<\/BmapFileChecksum>/, `<BmapFileSHA1>$1${zeros}$2</BmapFileSHA1>`);
  return resealBmap(xml);
}

/** The block ranges a layout maps on a filesystem whose allocation unit is `blockSize` (merged, ascending). */
export function expectedRanges(layout: SparseLayout, blockSize = 4096): Array<{ first: number; last: number }> {
  const blocks = new Set<number>();
  for (const extent of layout.extents) {
    const length = 'data' in extent ? extent.data.length : extent.length;
    if (length === 0) continue;
    const lastBlock = Math.floor((extent.offset + length - 1) / blockSize);
    for (let b = Math.floor(extent.offset / blockSize); b <= lastBlock; b++) blocks.add(b);
  }
  const sorted = [...blocks].sort((a, b) => a - b);
  const ranges: Array<{ first: number; last: number }> = [];
  for (const b of sorted) {
    const tail = ranges[ranges.length - 1];
    if (tail && tail.last + 1 === b) tail.last = b;
    else ranges.push({ first: b, last: b });
  }
  return ranges;
}

/**
 * The layout behind the committed fixtures in test/fixtures/bmap (standard-*.bmap): 1 MiB + 1000 bytes,
 * an unaligned multi-block extent, single blocks, and a mapped partial last block.
 */
/**
 * The worn-card suites' image: 8 MiB with four ranges, blocks A 0-63, B 256-639, C 1027-1176, D 1792-1816
 * (623 blocks mapped; C starts 3 blocks into its MiB). `seed` picks the bytes (seed .. seed + 3).
 */
export function fourRangeLayout(seed: number): SparseLayout {
  const KiB = 1024;
  const MiB = 1024 * KiB;
  return {
    size: 8 * MiB,
    extents: [
      { offset: 0, length: 256 * KiB, seed },
      { offset: 1 * MiB, length: 1536 * KiB, seed: seed + 1 },
      { offset: 4 * MiB + 3 * 4096, length: 600 * KiB, seed: seed + 2 },
      { offset: 7 * MiB, length: 100 * KiB, seed: seed + 3 },
    ],
  };
}

export const STANDARD_LAYOUT: SparseLayout = {
  size: 1024 * 1024 + 1000,
  extents: [
    { offset: 0, length: 2 * 4096 + 100, seed: 1 },
    { offset: 10 * 4096, length: 4096, seed: 2 },
    { offset: 200_000, length: 70_000, seed: 3 },
    { offset: 100 * 4096 + 17, length: 1, seed: 4 },
    { offset: 1024 * 1024 + 500, length: 500, seed: 5 },
  ],
};

/**
 * Writes a version 2.0 bmap for `image` by hand, with any block size (bmaptool takes its block size from the
 * filesystem the image sits on, so 512/1024/2048 need one of those): `ranges` in blocks of `blockSize`, each
 * with its checksum over the image's real bytes, the file's own checksum sealed as bmaptool does. Returns the
 * ranges written (sorted, as given).
 */
export async function writeBmap(
  image: string,
  bmapPath: string,
  blockSize: number,
  ranges: ReadonlyArray<{ first: number; last: number }>,
  checksumType = 'sha256',
): Promise<void> {
  const { size } = statSync(image);
  const blocks = Math.ceil(size / blockSize);
  const mapped = ranges.reduce((n, r) => n + r.last - r.first + 1, 0);
  const lines = ranges.map((r) => {
    const sum = digestOfBlocks(image, blockSize, r.first, r.last, nodeHashName(checksumType));
    return `        <Range chksum="${sum}"> ${r.first === r.last ? r.first : `${r.first}-${r.last}`} </Range>`;
  });
  const xml = [
    '<?xml version="1.0" ?>',
    '<bmap version="2.0">',
    `    <ImageSize> ${size} </ImageSize>`,
    `    <BlockSize> ${blockSize} </BlockSize>`,
    `    <BlocksCount> ${blocks} </BlocksCount>`,
    `    <MappedBlocksCount> ${mapped} </MappedBlocksCount>`,
    `    <ChecksumType> ${checksumType} </ChecksumType>`,
    `    <BmapFileChecksum> ${'0'.repeat(64)} </BmapFileChecksum>`,
    '    <BlockMap>',
    ...lines,
    '    </BlockMap>',
    '</bmap>',
    '',
  ].join('\n');
  await writeFile(bmapPath, resealBmap(xml));
}

/** Byte spans [start, end) as the merged block ranges that cover them in blocks of `blockSize`. */
export function blockRangesOf(spans: ReadonlyArray<{ start: number; end: number }>, blockSize: number): Array<{ first: number; last: number }> {
  const out: Array<{ first: number; last: number }> = [];
  for (const s of [...spans].sort((a, b) => a.start - b.start)) {
    const first = Math.floor(s.start / blockSize);
    const last = Math.ceil(s.end / blockSize) - 1;
    const tail = out[out.length - 1];
    if (tail && first <= tail.last + 1) tail.last = Math.max(tail.last, last);
    else out.push({ first, last });
  }
  return out;
}
