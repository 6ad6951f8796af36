import { describe, expect, it } from 'vitest';
import { differingSpans, mergeBlockSpans, distinctBlocks } from '../../src/main/engine/lane/spans';
import { RangeBook } from '../../src/main/engine/lane/range-book';
import { ProgressMeter, PROGRESS_INTERVAL_MS } from '../../src/main/engine/lane/progress-meter';
import { fillMarker, judgeMarkers, planMarkers, readMarker, MARKER_BYTES } from '../../src/main/engine/lane/capacity-probe';
import { planWholeImage, type PlannedRange } from '../../src/main/engine/plan';
import type { FlashProgress } from '../../src/shared/report';

const block = 4096;
const MiB = 1024 * 1024;
const outcome = (over: Partial<Parameters<RangeBook['pieceSettled']>[1]> = {}) => ({
  bytes: 4096, passes: 0, rewrittenBlocks: 0, retried: [], bad: [], writtenBlocks: 1, skippedBlocks: 0, mediaErrors: 0, ...over,
});

describe('differingSpans', () => {
  const base = (): Buffer => Buffer.alloc(8 * block, 7);
  const same = (x: number): number => x;
  it('finds nothing in equal buffers', () => {
    expect(differingSpans(base(), base(), same, { start: 0, end: 8 * block }, block)).toEqual([]);
  });
  it('names each differing block and merges neighbours', () => {
    const actual = base();
    actual[block * 2 + 5] = 0;
    actual[block * 3] = 0;
    actual[block * 6 + 4095] = 0;
    expect(differingSpans(base(), actual, same, { start: 0, end: 8 * block }, block)).toEqual([
      { start: 2 * block, end: 4 * block },
      { start: 6 * block, end: 7 * block },
    ]);
  });
  it('compares a partial last block over its real bytes only, and maps offsets to buffer indexes', () => {
    const expected = Buffer.alloc(block + 100 + 10, 1);
    const actual = Buffer.alloc(block + 100 + 10, 1);
    actual[10 + block + 99] = 2;
    actual[10 + block + 105] = 3; // past the span: ignored
    expect(differingSpans(expected, actual, (x) => x - 8192 + 10, { start: 8192, end: 8192 + block + 100 }, block)).toEqual([{ start: 8192 + block, end: 8192 + block + 100 }]);
  });
  it('merges block spans for reports and counts distinct blocks', () => {
    expect(mergeBlockSpans([{ first: 5, last: 6 }, { first: 1, last: 2 }, { first: 3, last: 3 }, { first: 6, last: 9 }])).toEqual([{ first: 1, last: 3 }, { first: 5, last: 9 }]);
    expect(distinctBlocks([{ first: 4, last: 4 }, { first: 4, last: 4 }])).toBe(1);
  });
});

describe('RangeBook', () => {
  const ranges = planWholeImage(64 * MiB);
  it('settles a range when its last piece did, with what it took', () => {
    const book = new RangeBook(ranges, 'verified');
    const r = ranges[0] as PlannedRange;
    book.pieceStarted(r, false);
    book.pieceStarted(r, true);
    book.retrying(r);
    book.pieceSettled(r, outcome({ passes: 2, rewrittenBlocks: 2, retried: [{ first: 3, last: 3 }] }));
    // The rewritten piece held; the range goes on being written.
    expect(book.reports()[0]?.state).toBe('writing');
    book.pieceSettled(r, outcome({ passes: 1, rewrittenBlocks: 1, retried: [{ first: 3, last: 3 }] }));
    const rep = book.reports()[0];
    expect(rep).toMatchObject({ state: 'verified', retries: 2, rewrittenBlocks: 3, retriedBlocks: 1, writtenBlocks: 2 });
    const changes = book.takeChanges();
    expect(changes.map((c) => c.state)).toEqual(['writing', 'retrying', 'writing', 'verified']);
    expect(changes[changes.length - 1]?.doneBytes).toBe(8192);
  });
  it('fails a range with bad blocks, marks source mismatches, and puts unfinished ranges back to pending', () => {
    const book = new RangeBook(ranges, 'verified');
    const [a, b, c] = ranges as [PlannedRange, PlannedRange, PlannedRange];
    book.pieceStarted(a, true);
    book.pieceSettled(a, outcome({ bad: [{ first: 9, last: 9 }, { first: 8, last: 8 }] }));
    book.pieceStarted(b, false);
    book.sourceMismatch(c);
    book.abandonUnfinished();
    const [ra, rb, rc] = book.reports();
    expect(ra).toMatchObject({ state: 'failed', badBlocks: [{ first: 8, last: 9 }] });
    expect(rb?.state).toBe('pending');
    expect(rc?.state).toBe('source-mismatch');
    expect(book.hasFailures()).toBe(true);
  });
});

describe('RangeBook without range changes (nobody is sent them)', () => {
  it('gathers no changes but keeps the same account', () => {
    const ranges = planWholeImage(64 * MiB);
    const quiet = new RangeBook(ranges, 'verified', false);
    const loud = new RangeBook(ranges, 'verified');
    for (const book of [quiet, loud]) {
      const [a, b] = ranges as [PlannedRange, PlannedRange];
      book.pieceStarted(a, true);
      book.pieceSettled(a, outcome({ passes: 1, rewrittenBlocks: 1, retried: [{ first: 2, last: 2 }] }));
      book.pieceStarted(b, true);
      book.pieceSettled(b, outcome({ bad: [{ first: 4096, last: 4096 }] }));
    }
    expect(quiet.takeChanges()).toEqual([]);
    expect(loud.takeChanges().length).toBeGreaterThan(0);
    expect(quiet.reports()).toEqual(loud.reports());
    expect(quiet.reports()[1]).toMatchObject({ state: 'failed', badBlocks: [{ first: 4096, last: 4096 }] });
    expect(quiet.totalRetries).toBe(1);
  });
});

describe('ProgressMeter', () => {
  it('throttles events, batches range changes and forces one on phase changes', () => {
    let now = 1000;
    const events: FlashProgress[] = [];
    const ranges = planWholeImage(64 * MiB);
    const book = new RangeBook(ranges, 'verified');
    const meter = new ProgressMeter(book, (p) => events.push(p), () => now);
    meter.bytesTotal = 64 * MiB;
    meter.setPhase('writing');
    expect(events).toHaveLength(1);
    book.pieceStarted(ranges[0] as PlannedRange, true);
    meter.addDone(1000);
    expect(events).toHaveLength(1);
    now += PROGRESS_INTERVAL_MS;
    meter.setActivity({ kind: 'rewriting', blocks: 2, range: 0 });
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ bytesDone: 1000, activity: { kind: 'rewriting', blocks: 2 } });
    expect(events[1]?.rangeChanges[0]).toMatchObject({ index: 0, state: 'writing' });
  });
});

describe('capacity probe markers', () => {
  it('spreads markers on a power-of-two grid past the image, or also in its unmapped blocks when it fills the card, never in mapped ranges', () => {
    const size = 64 * MiB;
    const mapped: PlannedRange[] = [{ index: 0, first: 0, last: 767, start: 0, end: 3 * MiB, checksum: null }];
    expect(planMarkers(size, mapped, 8 * MiB)[0]).toBe(8 * MiB);
    const offsets = planMarkers(size, mapped, 60 * MiB);
    expect(offsets[0]).toBe(3 * MiB);
    expect(offsets).toContain(32 * MiB);
    expect(offsets[offsets.length - 1]).toBe(size - MARKER_BYTES);
    expect(offsets.every((o) => o >= 3 * MiB && o % MARKER_BYTES === 0)).toBe(true);
    expect(offsets.length).toBeGreaterThan(55);
  });
  it('tells its own marker from another marker of the job and from garbage', () => {
    const nonce = Buffer.alloc(16, 9);
    const m1 = Buffer.alloc(MARKER_BYTES);
    const m2 = Buffer.alloc(MARKER_BYTES);
    fillMarker(m1, nonce, 1 * MiB);
    fillMarker(m2, nonce, 17 * MiB);
    expect(m1.equals(m2)).toBe(false);
    expect(readMarker(m1, nonce, 1 * MiB, m1)).toEqual({ offset: 1 * MiB, found: 'ok' });
    expect(readMarker(m2, nonce, 1 * MiB, m1)).toEqual({ offset: 1 * MiB, found: 'other', from: 17 * MiB });
    expect(readMarker(Buffer.alloc(MARKER_BYTES), nonce, 1 * MiB, m1).found).toBe('garbage');
  });
  it('estimates the real capacity of a card that wraps or drops writes', () => {
    const wrap = judgeMarkers('/dev/sdz', 64 * MiB, [
      { offset: 1 * MiB, found: 'other', from: 49 * MiB },
      { offset: 33 * MiB, found: 'other', from: 49 * MiB },
      { offset: 2 * MiB, found: 'ok' },
    ]);
    expect(wrap).toMatchObject({ status: 'failed', realBytesEstimate: 16 * MiB });
    expect(wrap.message).toMatch(/probably a counterfeit card: it claims 67.1 MB but seems to hold only about 16.8 MB/);
    const drop = judgeMarkers('/dev/sdz', 64 * MiB, [{ offset: 8 * MiB, found: 'ok' }, { offset: 16 * MiB, found: 'garbage' }, { offset: 40 * MiB, found: 'garbage' }]);
    expect(drop.realBytesEstimate).toBe(16 * MiB);
    expect(judgeMarkers('/dev/sdz', 64 * MiB, [{ offset: 8 * MiB, found: 'ok' }]).status).toBe('passed');
  });
});
