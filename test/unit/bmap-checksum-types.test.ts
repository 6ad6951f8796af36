/**
 * Every checksum type bmaptool accepts that node:crypto has, each in a bmap made by bmaptool's own creator
 * (the `bmaptools` Python module behind `bmaptool create`, which the CLI runs with sha256 only), and
 * ranges out of order, which bmaptool accepts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBmap, readBmapFile } from '../../src/main/engine/bmap-parser';
import { CHECKSUM_TYPES, checksumTypeOf } from '../../src/shared/bmap';
import {
  bmaptoolAvailable,
  bmaptoolCopy,
  bmaptoolCreate,
  digestOfBlocks,
  makeSparseImage,
  resealBmap,
  STANDARD_LAYOUT,
} from '../helpers/bmap-fixtures';

const exec = promisify(execFile);
/** The interpreter bmaptool runs on (its `bmaptools` module is Debian's, not on a pyenv python). */
const BMAPTOOL_PYTHON = '/usr/bin/python3';
const CREATE = 'import sys\nfrom bmaptools import BmapCreate\nBmapCreate.BmapCreate(sys.argv[1], sys.argv[2], sys.argv[3]).generate(True)';

/** Python's spelling of each type, as bmaptool writes it in <ChecksumType>. */
const PYTHON_NAME: Record<(typeof CHECKSUM_TYPES)[number], string> = {
  md5: 'md5',
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  'sha512-224': 'sha512_224',
  'sha512-256': 'sha512_256',
  'sha3-224': 'sha3_224',
  'sha3-256': 'sha3_256',
  'sha3-384': 'sha3_384',
  'sha3-512': 'sha3_512',
  blake2b512: 'blake2b',
  blake2s256: 'blake2s',
  ripemd160: 'ripemd160',
  sm3: 'sm3',
  'md5-sha1': 'md5-sha1',
};

let dir: string;
let image: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sureflash-bmap-types-'));
  image = await makeSparseImage(dir, 'types.img', STANDARD_LAYOUT);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!bmaptoolAvailable())('ChecksumType: every algorithm bmaptool and node:crypto share (needs bmaptool)', { timeout: 60_000 }, () => {
  it.each(CHECKSUM_TYPES.map((type) => [type, PYTHON_NAME[type]] as const))('%s (written "%s" by bmaptool)', async (type, python) => {
    const bmap = join(dir, `types-${type}.bmap`);
    await exec(BMAPTOOL_PYTHON, ['-c', CREATE, image, bmap, python]);
    expect(await readFile(bmap, 'utf8')).toContain(`<ChecksumType> ${python} </ChecksumType>`);
    const parsed = await readBmapFile(bmap);
    expect(parsed.checksumType).toBe(type);
    expect(parsed.fileChecksum).toHaveLength(digestOfBlocks(image, 4096, 0, 0, type).length);
    for (const r of parsed.ranges) expect(r.checksum, `${type} ${r.first}-${r.last}`).toBe(digestOfBlocks(image, 4096, r.first, r.last, type));
    // The oracle copies with the same bmap: both read it the same way.
    await bmaptoolCopy(image, bmap, join(dir, `copy-${type}.img`));
  });

  it('a damaged bmap of another type is still caught by its own checksum (sha3_512)', async () => {
    const bmap = join(dir, 'types-damaged.bmap');
    await exec(BMAPTOOL_PYTHON, ['-c', CREATE, image, bmap, 'sha3_512']);
    const text = (await readFile(bmap, 'utf8')).replace('> 10 <', '> 11 <');
    expect(() => parseBmap(Buffer.from(text), 'damaged.bmap')).toThrow(/sha3-512 checksum/);
  });

  it('ranges out of order, which bmaptool copies, are sorted; overlaps are still refused', async () => {
    const bmap = join(dir, 'order.bmap');
    const xml = await bmaptoolCreate(image, bmap);
    const ranges = [...xml.matchAll(/[ \t]*<Range[^>]*>[^<]*<\/Range>\n/g)].map((m) => m[0]);
    expect(ranges).toHaveLength(5);
    const shuffled = resealBmap(xml.replace(ranges.join(''), [ranges[3], ranges[0], ranges[4], ranges[2], ranges[1]].join('')));
    await writeFile(bmap, shuffled);
    await bmaptoolCopy(image, bmap, join(dir, 'order-copy.img'));
    const parsed = await readBmapFile(bmap);
    expect(parsed.ranges.map((r) => [r.first, r.last])).toEqual([[0, 2], [10, 10], [48, 65], [100, 100], [256, 256]]);
    for (const r of parsed.ranges) expect(r.checksum).toBe(digestOfBlocks(image, 4096, r.first, r.last, 'sha256'));
    const overlapping = resealBmap(shuffled.replace('> 10 <', '> 49 <'));
    expect(() => parseBmap(Buffer.from(overlapping), 'overlap.bmap')).toThrow(/<Range> 49 overlaps <Range> 48-65 on line \d+/);
  });
});

describe('ChecksumType names', () => {
  it.each([
    ['SHA256', 'sha256'],
    [' sha3_256 ', 'sha3-256'],
    ['sha-512', 'sha512'],
    ['SHA2-512/256', 'sha512-256'],
    ['blake2b', 'blake2b512'],
    ['BLAKE2S-256', 'blake2s256'],
    ['rmd160', 'ripemd160'],
  ])('%j is %s', (text, type) => {
    expect(checksumTypeOf(text)).toBe(type);
  });

  it.each(['whirlpool', 'md4', 'shake_128', 'crc32', '', 'constructor', '__proto__', 'toString'])('%j is not a checksum type', (text) => {
    expect(checksumTypeOf(text)).toBeNull();
  });
});
