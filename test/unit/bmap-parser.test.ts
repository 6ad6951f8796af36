import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { looksLikeBmap, parseBmap, readBmapFile } from '../../src/main/engine/bmap-parser';
import { mappedBytes, type Bmap } from '../../src/shared/bmap';
import {
  bmaptoolAvailable,
  bmaptoolCopy,
  bmaptoolCreate,
  deriveBmapVersion,
  digestOfBlocks,
  expectedRanges,
  makeSparseImage,
  STANDARD_LAYOUT,
  type SparseLayout,
} from '../helpers/bmap-fixtures';

const FIXTURES = join(__dirname, '..', 'fixtures', 'bmap');
const FIXTURE_FILES = ['standard-2.0.bmap', 'standard-2.0-no-checksum.bmap', 'standard-1.4.bmap', 'standard-1.3.bmap',
  'standard-1.2.bmap'];
const hasBmaptool = bmaptoolAvailable();

let dir: string;
/** Where `bmaptool copy` writes: tmpfs when there is one, since bmaptool fsyncs its output. */
let copyDir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sureflash-bmap-'));
  copyDir = existsSync('/dev/shm') ? await mkdtemp(join('/dev/shm', 'sureflash-bmap-')) : dir;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(copyDir, { recursive: true, force: true });
});

/** Every range's checksum equals the digest of the image's real bytes for those blocks. */
function expectChecksumsMatchImage(bmap: Bmap, image: string): void {
  expect(bmap.checksumType).not.toBeNull();
  for (const r of bmap.ranges) {
    const type = bmap.checksumType ?? 'sha256';
    expect(r.checksum, `range ${r.first}-${r.last}`).toBe(digestOfBlocks(image, bmap.blockSize, r.first, r.last, type));
  }
}

function withoutChecksums(bmap: Bmap): Array<{ first: number; last: number }> {
  return bmap.ranges.map(({ first, last }) => ({ first, last }));
}

describe.skipIf(!hasBmaptool)('bmaps made by bmaptool create (oracle; needs bmaptool from Debian bmap-tools)', { timeout: 60_000 }, () => {
  let image: string;
  let v2xml: string;
  let v2path: string;

  beforeAll(async () => {
    image = await makeSparseImage(dir, 'standard.img', STANDARD_LAYOUT);
    v2path = join(dir, 'standard-2.0.bmap');
    v2xml = await bmaptoolCreate(image, v2path);
  });

  it('reads a 2.0 bmap: fields, ranges and sha256 of every range as the image holds them', async () => {
    const bmap = await readBmapFile(v2path);
    expect(bmap).toMatchObject({
      version: '2.0',
      major: 2,
      minor: 0,
      imageSize: STANDARD_LAYOUT.size,
      blockSize: 4096,
      blocksCount: 257,
      checksumType: 'sha256',
    });
    expect(withoutChecksums(bmap)).toEqual(expectedRanges(STANDARD_LAYOUT));
    expect(bmap.mappedBlocksCount).toBe(bmap.ranges.reduce((n, r) => n + r.last - r.first + 1, 0));
    expect(bmap.fileChecksum).toMatch(/^[0-9a-f]{64}$/);
    expect(mappedBytes(bmap)).toBe(bmap.mappedBlocksCount * 4096 - (4096 - 1000));
    expectChecksumsMatchImage(bmap, image);
  });

  it.each(['1.4', '1.3', '1.2'] as const)('reads a %s bmap derived from it, which bmaptool copy accepts', async (v) => {
    const xml = deriveBmapVersion(v2xml, v, image);
    const path = join(dir, `standard-${v}.bmap`);
    await writeFile(path, xml);
    // bmaptool itself checks the derived file's checksum and every range checksum while copying.
    const copy = join(copyDir, `copy-${v}.img`);
    await bmaptoolCopy(image, path, copy);
    // (Buffer.equals, not toEqual: a deep compare of 1 MiB element by element takes seconds.)
    expect((await readFile(copy)).equals(await readFile(image))).toBe(true);

    const bmap = await readBmapFile(path);
    expect(bmap.version).toBe(v);
    expect(withoutChecksums(bmap)).toEqual(expectedRanges(STANDARD_LAYOUT));
    expect(bmap.checksumType).toBe(v === '1.4' ? 'sha256' : 'sha1');
    expect(bmap.fileChecksum === null).toBe(v === '1.2');
    expectChecksumsMatchImage(bmap, image);
  });

  it('reads a bmap made with --no-checksum: ranges without checksums, file checksum still checked', async () => {
    const path = join(dir, 'nochk.bmap');
    await bmaptoolCreate(image, path, { noChecksum: true });
    const bmap = await readBmapFile(path);
    expect(bmap.checksumType).toBeNull();
    expect(bmap.ranges.every((r) => r.checksum === null)).toBe(true);
    expect(withoutChecksums(bmap)).toEqual(expectedRanges(STANDARD_LAYOUT));
    expect(bmap.fileChecksum).toMatch(/^[0-9a-f]{64}$/);
  });

  const corners: Array<[string, SparseLayout, Array<{ first: number; last: number }>, number]> = [
    ['1 byte', { size: 1, extents: [{ offset: 0, length: 1 }] }, [{ first: 0, last: 0 }], 1],
    ['4095 bytes', { size: 4095, extents: [{ offset: 4094, length: 1 }] }, [{ first: 0, last: 0 }], 1],
    ['4096 bytes', { size: 4096, extents: [{ offset: 4095, length: 1 }] }, [{ first: 0, last: 0 }], 1],
    ['4097 bytes, last byte written', { size: 4097, extents: [{ offset: 4096, length: 1 }] }, [{ first: 1, last: 1 }], 2],
    ['4097 bytes, first block written', { size: 4097, extents: [{ offset: 0, length: 10 }] }, [{ first: 0, last: 0 }], 2],
    ['4097 bytes, all holes', { size: 4097, extents: [] }, [], 2],
    ['3 blocks + 1 byte, mapped across into the partial last block',
      { size: 3 * 4096 + 1, extents: [{ offset: 4096, length: 2 * 4096 + 1 }] }, [{ first: 1, last: 3 }], 4],
  ];
  it.each(corners)('corner case: image of %s', async (label, layout, ranges, blocksCount) => {
    const name = label.replace(/\W+/g, '-');
    const img = await makeSparseImage(dir, `${name}.img`, layout);
    const bmap = parseBmap(Buffer.from(await bmaptoolCreate(img, join(dir, `${name}.bmap`))), name);
    expect(bmap.imageSize).toBe(layout.size);
    expect(bmap.blocksCount).toBe(blocksCount);
    expect(withoutChecksums(bmap)).toEqual(ranges);
    expect(bmap.mappedBlocksCount).toBe(ranges.reduce((n, r) => n + r.last - r.first + 1, 0));
    if (ranges.length > 0) expectChecksumsMatchImage(bmap, img);
  });

  it('reads a bmap with thousands of ranges', async () => {
    const extents = Array.from({ length: 1500 }, (_, i) => ({ offset: i * 2 * 4096, length: 1 + (i % 4096), seed: i }));
    const layout = { size: 1500 * 2 * 4096, extents };
    const img = await makeSparseImage(dir, 'many.img', layout);
    await bmaptoolCreate(img, join(dir, 'many.bmap'));
    const bmap = await readBmapFile(join(dir, 'many.bmap'));
    expect(bmap.ranges).toHaveLength(1500);
    expect(withoutChecksums(bmap)).toEqual(expectedRanges(layout));
    expectChecksumsMatchImage(bmap, img);
  });

  // UPDATE_BMAP_FIXTURES=1 rewrites test/fixtures/bmap from this run (then review the diff before committing).
  it('the committed fixtures are what bmaptool produces for STANDARD_LAYOUT', async () => {
    const made: Record<string, string> = {
      'standard-2.0.bmap': v2xml,
      'standard-2.0-no-checksum.bmap': await bmaptoolCreate(image, join(dir, 'fx-nochk.bmap'), { noChecksum: true }),
      'standard-1.4.bmap': deriveBmapVersion(v2xml, '1.4', image),
      'standard-1.3.bmap': deriveBmapVersion(v2xml, '1.3', image),
      'standard-1.2.bmap': deriveBmapVersion(v2xml, '1.2', image),
    };
    for (const file of FIXTURE_FILES) {
      const xml = made[file] ?? '';
      if (process.env.UPDATE_BMAP_FIXTURES === '1') await writeFile(join(FIXTURES, file), xml);
      const rangeLines = (text: string): string[] => text.split('\n').filter((l) => l.includes('<Range'));
      expect(rangeLines(await readFile(join(FIXTURES, file), 'utf8')), file).toEqual(rangeLines(xml));
    }
  });
});

describe('committed fixtures (test/fixtures/bmap)', () => {
  let image: string;
  beforeAll(async () => {
    image = await makeSparseImage(dir, 'fixture.img', STANDARD_LAYOUT);
  });

  it.each(FIXTURE_FILES)('%s parses and its checksums match the regenerated image', async (file) => {
    const bmap = await readBmapFile(join(FIXTURES, file));
    expect(withoutChecksums(bmap)).toEqual(expectedRanges(STANDARD_LAYOUT));
    expect(bmap.imageSize).toBe(STANDARD_LAYOUT.size);
    if (file.includes('no-checksum')) expect(bmap.checksumType).toBeNull();
    else expectChecksumsMatchImage(bmap, image);
  });
});

describe('XML the reader must accept', () => {
  it('comments anywhere, single quotes, odd whitespace, CDATA, character references and a BOM', () => {
    const xml = [
      '\uFEFF<?xml version="1.0" encoding="UTF-8"?>',
      '<!-- leading comment -->',
      "<bmap\tversion = '1.2' >",
      '  <ImageSize>\n 8192 \n</ImageSize><!-- inline -->',
      '  <BlockSize> <![CDATA[4096]]> </BlockSize>',
      '  <BlocksCount>&#50;</BlocksCount>',
      '  <MappedBlocksCount> 2 </MappedBlocksCount>',
      '  <Extra note="unknown elements are ignored"/>',
      '  <BlockMap>',
      `    <Range sha1='${'a'.repeat(40)}'> 0 </Range>`,
      '    <Range>1</Range>',
      '  </BlockMap>',
      '</bmap>',
      '<!-- trailing comment -->',
      '',
    ].join('\n');
    const bmap = parseBmap(Buffer.from(xml), 'hand.bmap');
    expect(bmap).toMatchObject({ version: '1.2', imageSize: 8192, blockSize: 4096, blocksCount: 2, fileChecksum: null });
    expect(bmap.ranges).toEqual([
      { first: 0, last: 0, checksum: 'a'.repeat(40) },
      { first: 1, last: 1, checksum: null },
    ]);
    expect(bmap.checksumType).toBe('sha1');
  });
});

describe('large numbers', () => {
  it('an image of Number.MAX_SAFE_INTEGER bytes with its partial last block mapped', () => {
    const size = Number.MAX_SAFE_INTEGER;
    const blocks = Math.floor(size / 4096) + 1;
    const xml = `<bmap version="1.2"><ImageSize>${size}</ImageSize><BlockSize>4096</BlockSize>
      <BlocksCount>${blocks}</BlocksCount><MappedBlocksCount>2</MappedBlocksCount>
      <BlockMap><Range>0</Range><Range>${blocks - 1}</Range></BlockMap></bmap>`;
    const bmap = parseBmap(Buffer.from(xml), 'huge.bmap');
    expect(bmap.blocksCount).toBe(2199023255552);
    expect(mappedBytes(bmap)).toBe(4096 + (size % 4096));
    expect(() => parseBmap(Buffer.from(xml.replace(`${size}<`, `${size + 1}<`)), 'huge.bmap')).toThrow(/ImageSize/);
  });
});

describe('looksLikeBmap', () => {
  it('recognises bmaptool output from its first 4 KiB, with or without BOM', async () => {
    const head = (await readFile(join(FIXTURES, 'standard-2.0.bmap'))).subarray(0, 4096);
    expect(looksLikeBmap(head)).toBe(true);
    expect(looksLikeBmap(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), head]))).toBe(true);
    expect(looksLikeBmap(Buffer.from('<bmap version="2.0">'))).toBe(true);
  });

  it('does not take images or other XML for a bmap', () => {
    const mbr = Buffer.alloc(4096);
    mbr.set([0x55, 0xaa], 510);
    expect(looksLikeBmap(mbr)).toBe(false);
    expect(looksLikeBmap(Buffer.from('<?xml version="1.0"?><svg><text>bmap</text></svg>'))).toBe(false);
    expect(looksLikeBmap(Buffer.from('PK\u0003\u0004 <bmap version="2.0">'))).toBe(false);
    expect(looksLikeBmap(new Uint8Array(0))).toBe(false);
  });
});
