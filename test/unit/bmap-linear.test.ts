/**
 * A bmap made of one long line of many elements: the parse does work in proportion to the file (counted,
 * not timed), stops on a cancel, and refuses documents beyond its bounds with BMAP_INVALID.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BMAP_XML_LIMITS, parseBmap, parseBmapAsync } from '../../src/main/engine/bmap-parser';
import { XmlReader, type XmlHandler } from '../../src/main/engine/bmap/xml-reader';
import { resealBmap } from '../helpers/bmap-fixtures';

/** A valid 2.0 bmap on a single line: `ranges` one-block ranges with (fake but well-formed) checksums. */
function singleLineBmap(ranges: number): string {
  const blocks = ranges * 2;
  const parts: string[] = [];
  for (let i = 0; i < ranges; i++) parts.push(`<Range chksum="${(i % 16).toString(16).repeat(64)}">${i * 2}</Range>`);
  const xml =
    `<?xml version="1.0" ?><bmap version="2.0"><ImageSize>${blocks * 4096}</ImageSize><BlockSize>4096</BlockSize>` +
    `<BlocksCount>${blocks}</BlocksCount><MappedBlocksCount>${ranges}</MappedBlocksCount><ChecksumType>sha256</ChecksumType>` +
    `<BmapFileChecksum>${'0'.repeat(64)}</BmapFileChecksum><BlockMap>${parts.join('')}</BlockMap></bmap>`;
  return resealBmap(xml);
}

/**
 * Characters the string searches made while `fn` ran could have looked at: for indexOf, from its start
 * position to the match (or to the end of the string). A scan that starts again from an earlier position,
 * or runs to the end looking for something that is not there, shows up here whatever the code around it.
 */
function countScanned(fn: () => void): number {
  const original = String.prototype.indexOf;
  let scanned = 0;
  const spy = vi.spyOn(String.prototype, 'indexOf').mockImplementation(function (this: string, search: string, from?: number) {
    const start = Math.max(0, Math.min(from ?? 0, this.length));
    const at = original.call(this, search, start);
    scanned += (at < 0 ? this.length : at + search.length) - start;
    return at;
  });
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return scanned;
}

const noop: XmlHandler = { open: () => undefined, text: () => undefined, close: () => undefined };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a multi-MB bmap on one line', () => {
  const big = singleLineBmap(50_000);
  const half = singleLineBmap(25_000);

  it('is a single line of several MB that parses into every range', () => {
    expect(big.length).toBeGreaterThan(4 * 1024 * 1024);
    expect(big.split('\n').length).toBe(1);
    const bmap = parseBmap(Buffer.from(big), 'big.bmap');
    expect(bmap.ranges).toHaveLength(50_000);
    expect(bmap.ranges[49_999]).toMatchObject({ first: 99_998, last: 99_998 });
  });

  it('the reader walks each character about once (its own count)', () => {
    const reader = new XmlReader(big, noop, BMAP_XML_LIMITS);
    expect(reader.step(Number.POSITIVE_INFINITY)).toBe(true);
    expect(reader.position).toBe(big.length);
    expect(reader.work).toBeLessThanOrEqual(2 * big.length);
  });

  it('the string searches of a whole parse stay proportional to the file, and to the element count', () => {
    const scannedBig = countScanned(() => parseBmap(Buffer.from(big), 'big.bmap'));
    const scannedHalf = countScanned(() => parseBmap(Buffer.from(half), 'half.bmap'));
    // Quadratic: tens of thousands of elements each scanning megabytes would be ~10^11 characters.
    expect(scannedBig).toBeLessThanOrEqual(3 * big.length);
    // Twice the elements, about twice the work (quadratic would be four times).
    expect(scannedBig / scannedHalf).toBeLessThan(2.5);
  });
});

describe('cancel', () => {
  const big = singleLineBmap(60_000);

  it('an abort stops the async parse between two slices (CANCELLED), which otherwise completes', async () => {
    expect((await parseBmapAsync(Buffer.from(big), 'big.bmap')).ranges).toHaveLength(60_000);
    const controller = new AbortController();
    let slices = 0;
    // Counts the parser's turns on the event loop: it yields between slices, so this runs in between.
    const tick = (): void => {
      slices++;
      if (slices === 2) controller.abort();
      else setImmediate(tick);
    };
    setImmediate(tick);
    const err = await parseBmapAsync(Buffer.from(big), 'big.bmap', { signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CANCELLED' });
    expect((err as Error).message).toContain('"big.bmap"');
  });

  it('the synchronous parse looks at the signal between slices too', () => {
    const controller = new AbortController();
    controller.abort();
    expect(() => parseBmap(Buffer.from(big), 'big.bmap', { signal: controller.signal })).toThrow(/cancelled/);
  });
});

describe('bounds', () => {
  it(`more than ${BMAP_XML_LIMITS.maxElements} elements is BMAP_INVALID, said plainly`, () => {
    const many = `<bmap version="2.0"><BlockMap>${'<x/>'.repeat(BMAP_XML_LIMITS.maxElements)}</BlockMap></bmap>`;
    expect(() => parseBmap(Buffer.from(many), 'many.bmap')).toThrow(
      /"many\.bmap" is invalid \(line 1\): the file holds more than 2,000,000 elements, more than a bmap can hold/,
    );
  });

  it(`nesting deeper than ${BMAP_XML_LIMITS.maxDepth} is BMAP_INVALID`, () => {
    const deep = `<bmap version="2.0">${'<x>'.repeat(16)}${'</x>'.repeat(16)}</bmap>`;
    expect(() => parseBmap(Buffer.from(deep), 'deep.bmap')).toThrow(/nested more than 16 deep/);
  });

  it('an element with very many attributes is BMAP_INVALID', () => {
    const attrs = Array.from({ length: 17 }, (_, i) => ` a${i}="1"`).join('');
    expect(() => parseBmap(Buffer.from(`<bmap version="2.0"${attrs}/>`), 'attrs.bmap')).toThrow(/more than 16 attributes/);
  });
});
