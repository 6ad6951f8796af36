import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BMAP_BYTES, parseBmap, readBmapFile } from '../../src/main/engine/bmap-parser';
import { EngineError } from '../../src/main/engine/errors';
import type { ErrorCode } from '../../src/shared/errors';
import { resealBmap } from '../helpers/bmap-fixtures';

const FIXTURES = join(__dirname, '..', 'fixtures', 'bmap');
/** bmaptool's 2.0 output for STANDARD_LAYOUT; ranges 0-2, 10, 48-65, 100, 256 of 257 blocks. */
const V2 = readFileSync(join(FIXTURES, 'standard-2.0.bmap'), 'utf8');
const V13 = readFileSync(join(FIXTURES, 'standard-1.3.bmap'), 'utf8');
const V12 = readFileSync(join(FIXTURES, 'standard-1.2.bmap'), 'utf8');

function failure(run: () => unknown): EngineError {
  try {
    run();
  } catch (err) {
    if (err instanceof EngineError) return err;
    throw err;
  }
  throw new Error('expected an EngineError, but parsing succeeded');
}

function expectRejected(xml: string, code: ErrorCode, ...fragments: Array<string | RegExp>): void {
  const err = failure(() => parseBmap(Buffer.from(xml), 'case.bmap'));
  expect(err.code).toBe(code);
  expect(err.message).toContain('"case.bmap"');
  for (const f of fragments) expect(err.message).toMatch(f);
}

/** Replaces `from` (which must occur) and reseals the file checksum, so only the intended defect remains. */
function edit(xml: string, from: string | RegExp, to: string): string {
  const out = xml.replace(from, to);
  if (out === xml) throw new Error(`test setup: ${String(from)} not found`);
  return resealBmap(out);
}

describe('the fixtures used as a base are accepted', () => {
  it.each([['2.0', V2], ['1.3', V13], ['1.2', V12]])('%s', (_v, xml) => {
    expect(parseBmap(Buffer.from(xml), 'case.bmap').ranges).toHaveLength(5);
    expect(parseBmap(Buffer.from(resealBmap(xml)), 'case.bmap').ranges).toHaveLength(5);
  });
});

describe('malformed or unsafe XML is BMAP_INVALID with a line number', () => {
  it.each([
    ['an unclosed element', V2.replace('</BlockMap>', ''), /line 54\b.*<\/bmap> does not match <BlockMap> opened on line 47/],
    ['a mismatched end tag', V2.replace('</BlockSize>', '</BlockSiz>'), /line 29\b.*<\/BlockSiz>/],
    ['an unquoted attribute', V2.replace('<Range chksum="', '<Range chksum='), /line 48\b.*not quoted/],
    ['a duplicate attribute', V2.replace('<Range ', '<Range chksum="x" '), /line 48\b.*appears twice/],
    ['an unclosed comment', `${V2}<!-- no end\n`, /line 55\b.*comment is not closed/],
    ['a comment swallowing the root', V2.replace('-->\n\n<bmap', '\n<bmap'), /line 24\b.*"--" is not allowed/],
    ['"--" inside a comment', V2.replace('a list of', 'a -- list of'), /line 3\b.*"--"/],
    ['text after the root', `${V2}junk\n`, /line 55\b.*text outside the root/],
    ['a second root', `${V2}<bmap/>`, /second root/],
    ['a truncated file', V2.slice(0, V2.indexOf('</BlockMap>')), /ends before <BlockMap> \(opened on line 47\)/],
    ['a DOCTYPE', V2.replace('<bmap ', '<!DOCTYPE bmap [<!ENTITY x "y">]>\n<bmap '), /DOCTYPE.*not allowed/],
    ['an external entity', V2.replace('<bmap ', '<!DOCTYPE bmap SYSTEM "file:///etc/passwd">\n<bmap '), /DOCTYPE/],
    ['a bare ENTITY declaration', V2.replace('<bmap ', '<!ENTITY x SYSTEM "http://x/">\n<bmap '), /ENTITY.*not allowed/],
    ['an undefined entity', V2.replace('<BlockSize> 4096', '<BlockSize> &bs;'), /line 29\b.*"&bs;" is not defined/],
    ['an XML declaration in the middle', V2.replace('<bmap ', '<?xml version="1.0"?>\n<bmap '), /only allowed at the very start/],
    ['a non-UTF-8 encoding', V2.replace('<?xml version="1.0" ?>', '<?xml version="1.0" encoding="UTF-16"?>'), /UTF-16/],
    ['no element at all', '<?xml version="1.0"?>\n<!-- nothing -->\n', /no XML element/],
    ['the wrong root', '<?xml version="1.0"?>\n<svg version="2.0"/>', /root element is <svg>/],
  ])('%s', (_label, xml, fragment) => {
    expectRejected(xml, 'BMAP_INVALID', fragment);
  });

  it('binary data (an image passed as the bmap)', () => {
    const err = failure(() => parseBmap(Buffer.from([0xfa, 0xb8, 0x00, 0x10, 0x8e, 0xd0, 0xff, 0xfe]), 'disk.img'));
    expect(err.code).toBe('BMAP_INVALID');
    expect(err.message).toMatch(/"disk\.img".*not UTF-8/);
    const nul = failure(() => parseBmap(Buffer.from('<bmap version="2.0">\0</bmap>'), 'nul.bmap'));
    expect(nul.message).toMatch(/NUL bytes/);
  });
});

describe('versions', () => {
  it.each(['3.0', '10.1'])('version %s is BMAP_UNSUPPORTED_VERSION', (v) => {
    expectRejected(V2.replace('version="2.0"', `version="${v}"`), 'BMAP_UNSUPPORTED_VERSION', `version ${v}`,
      /reads 1\.2 to 2\.x/);
  });
  it.each(['1.1', '0.9'])('version %s (older than 1.2) is BMAP_UNSUPPORTED_VERSION', (v) => {
    expectRejected(V12.replace('version="1.2"', `version="${v}"`), 'BMAP_UNSUPPORTED_VERSION', `version ${v}`);
  });
  it('a 2.1 bmap is read as 2.x', () => {
    const bmap = parseBmap(Buffer.from(edit(V2, 'version="2.0"', 'version="2.1"')), 'case.bmap');
    expect([bmap.major, bmap.minor, bmap.checksumType]).toEqual([2, 1, 'sha256']);
  });
  it.each(['2', 'two', '2.0.1', ''])('version "%s" is BMAP_INVALID', (v) => {
    expectRejected(V2.replace('version="2.0"', `version="${v}"`), 'BMAP_INVALID', 'major.minor');
  });
  it('a missing version attribute is BMAP_INVALID', () => {
    expectRejected(V2.replace(' version="2.0"', ''), 'BMAP_INVALID', /line 24\b.*no version/);
  });
});

describe('the bmap file checksum', () => {
  it('an edited 2.0 bmap is BMAP_CHECKSUM_MISMATCH naming the file', () => {
    expectRejected(V2.replace('<Range chksum="', '<Range  chksum="'), 'BMAP_CHECKSUM_MISMATCH', /sha256/, /damaged/);
  });
  it('an edited 1.3 bmap is BMAP_CHECKSUM_MISMATCH (sha1)', () => {
    expectRejected(V13.replace('> 10 <', '> 11 <'), 'BMAP_CHECKSUM_MISMATCH', /sha1/, /<BmapFileSHA1>/);
  });
  it('a 1.4 bmap is checked with its ChecksumType (a 2.0 file relabelled without resealing fails)', () => {
    expectRejected(V2.replace('version="2.0"', 'version="1.4"'), 'BMAP_CHECKSUM_MISMATCH');
    expect(parseBmap(Buffer.from(edit(V2, 'version="2.0"', 'version="1.4"')), 'case.bmap').version).toBe('1.4');
  });
  it('a 1.2 bmap has no file checksum: edits go unnoticed by design', () => {
    expect(parseBmap(Buffer.from(V12.replace('<BlockMap>', '<BlockMap> ')), 'case.bmap').fileChecksum).toBeNull();
  });
  it.each([
    ['missing', /[ \t]*<BmapFileChecksum>[^\n]*\n/, '', /<BmapFileChecksum> element is missing/],
    ['too short', /<BmapFileChecksum> [0-9a-f]{64}/, '<BmapFileChecksum> abc', /"abc" is not a sha256 checksum/],
    ['not hex', /<BmapFileChecksum> [0-9a-f]{64}/, `<BmapFileChecksum> ${'g'.repeat(64)}`, /not a sha256/],
  ])('a %s file checksum is BMAP_INVALID', (_l, from, to, fragment) => {
    expectRejected(V2.replace(from, to), 'BMAP_INVALID', fragment);
  });
});

describe('consistency checks name the field and line', () => {
  const cases: Array<[string, string, string | RegExp, string, RegExp]> = [
    ['BlocksCount too small', V2, '<BlocksCount> 257', '<BlocksCount> 256', /line 32\b.*BlocksCount is 256.*needs 257/],
    ['BlocksCount too large', V2, '<BlocksCount> 257', '<BlocksCount> 258', /BlocksCount is 258/],
    ['ImageSize not matching', V2, '<ImageSize> 1049576', '<ImageSize> 1048576', /ImageSize 1048576.*needs 256/],
    ['BlockSize not a multiple of 512', V2, '<BlockSize> 4096', '<BlockSize> 4000', /line 29\b.*BlockSize 4000/],
    ['BlockSize zero', V2, '<BlockSize> 4096', '<BlockSize> 0', /BlockSize 0 is not a positive/],
    ['MappedBlocksCount wrong', V2, '<MappedBlocksCount> 24 ', '<MappedBlocksCount> 23 ',
      /line 35\b.*MappedBlocksCount is 23.*cover 24/],
    ['a negative number', V2, '<ImageSize> 1049576', '<ImageSize> -1049576', /<ImageSize> holds "-1049576"/],
    ['a huge number', V2, '<ImageSize> 1049576', '<ImageSize> 99999999999999999999', /not a whole number/],
    ['a missing field', V2, /[ \t]*<BlockSize>[^\n]*\n/, '', /<BlockSize> element is missing/],
    ['a duplicate field', V2, '<BlockSize> 4096 </BlockSize>', '<BlockSize> 4096 </BlockSize><BlockSize>4096</BlockSize>',
      /<BlockSize> appears twice/],
    ['overlapping ranges', V2, '> 10 <', '> 2-10 <', /line 49\b.*2-10 overlaps.*line 48/],
    ['ranges out of order that overlap', V2, '> 100 <', '> 1 <', /line 51\b.*<Range> 1 overlaps <Range> 0-2 on line 48/],
    ['a repeated block', V2, '> 100 <', '> 65 <', /<Range> 65 overlaps/],
    ['a range past the end', V2, '> 256 <', '> 257 <', /line 52\b.*257 reaches past the last block \(BlocksCount is 257\)/],
    ['a range running past the end', V2, '> 256 <', '> 256-300 <', /256-300 reaches past/],
    ['first after last', V2, '> 48-65 <', '> 65-48 <', /line 50\b.*65-48 starts after it ends/],
    ['a malformed range', V2, '> 48-65 <', '> 48..65 <', /"48\.\.65", expected "first-last"/],
    ['a range holding an element', V2, '> 10 <', '> 10<b/> <', /line 49\b.*<Range> must hold only block numbers/],
    ['an empty range', V2, '> 100 <', '>  <', /<Range> holds ""/],
    ['a short chksum', V2, /chksum="[0-9a-f]{64}"> 10 </, 'chksum="abcd"> 10 <', /line 49\b.*chksum of <Range> 10 "abcd"/],
    ['a non-hex chksum', V2, /chksum="[0-9a-f]{64}"> 10 </, `chksum="${'z'.repeat(64)}"> 10 <`, /not a sha256 checksum/],
    ['a sha1-length chksum in a sha256 bmap', V2, /chksum="[0-9a-f]{64}"> 10 </, `chksum="${'a'.repeat(40)}"> 10 <`,
      /64 hex digits/],
    ['an unknown ChecksumType', V2, '<ChecksumType> sha256', '<ChecksumType> whirlpool', /line 38\b.*ChecksumType "whirlpool" is not supported \(Sureflash knows md5, sha1, sha224/],
    ['a ChecksumType bmaptool cannot hexdigest (shake_128)', V2, '<ChecksumType> sha256', '<ChecksumType> shake_128', /ChecksumType "shake_128" is not supported/],
    ['a missing ChecksumType', V2, /[ \t]*<ChecksumType>[^\n]*\n/, '', /<ChecksumType> element is missing/],
    ['a bad 1.3 sha1 attribute', V13, /sha1="[0-9a-f]{40}"> 10 </, 'sha1="xyz"> 10 <', /sha1 of <Range> 10 "xyz"/],
    ['a missing BmapFileSHA1 in 1.3', V13, /[ \t]*<BmapFileSHA1>[^\n]*\n/, '', /<BmapFileSHA1> element is missing/],
  ];
  it.each(cases)('%s', (_label, base, from, to, fragment) => {
    expectRejected(edit(base, from, to), 'BMAP_INVALID', fragment);
  });

  it('a bad sha1 attribute in a 1.2 bmap (bmaptool ignores them; Sureflash uses them)', () => {
    expectRejected(V12.replace(/sha1="[0-9a-f]{40}"> 100 </, `sha1="${'a'.repeat(39)}"> 100 <`), 'BMAP_INVALID',
      /line 49\b.*sha1 of <Range> 100/);
  });

  it('uppercase hex is accepted and normalised to lowercase', () => {
    const upper = edit(V2, /chksum="([0-9a-f]{64})"> 10 </, `chksum="${'AB'.repeat(32)}"> 10 <`);
    expect(parseBmap(Buffer.from(upper), 'case.bmap').ranges[1]?.checksum).toBe('ab'.repeat(32));
  });
});

describe('size cap and file access', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sureflash-bmap-rejects-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parseBmap refuses a buffer over the cap', () => {
    const big = Buffer.alloc(MAX_BMAP_BYTES + 1, 0x20);
    expectRejected(big.toString('latin1'), 'BMAP_INVALID', `at most ${MAX_BMAP_BYTES} bytes`);
  });

  it('readBmapFile refuses a 1 GiB file by its size (stat), without parsing it', async () => {
    const path = join(dir, 'huge.bmap');
    const handle = await open(path, 'w');
    await handle.truncate(1024 ** 3);
    await handle.close();
    const err = await readBmapFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe('BMAP_INVALID');
    // Only the stat check reports the exact size; reading would have failed on the NUL bytes instead.
    expect((err as EngineError).message).toContain(`"${path}" is invalid: it is 1073741824 bytes`);
  });

  it('readBmapFile: a missing file is BMAP_NOT_FOUND, a directory is BMAP_INVALID', async () => {
    const missing = await readBmapFile(join(dir, 'nope.bmap')).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'BMAP_NOT_FOUND' });
    expect((missing as Error).message).toContain('nope.bmap');
    const sub = join(dir, 'sub.bmap');
    await mkdir(sub);
    const notFile = await readBmapFile(sub).catch((e: unknown) => e);
    expect(notFile).toMatchObject({ code: 'BMAP_INVALID' });
    expect((notFile as Error).message).toMatch(/not a regular file/);
  });

  it('readBmapFile reads a file within the cap', async () => {
    const path = join(dir, 'ok.bmap');
    await writeFile(path, V2);
    expect((await readBmapFile(path)).ranges).toHaveLength(5);
  });
});
