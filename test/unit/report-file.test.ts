import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReportFile } from '../../src/main/cli/report-file';
import { RangeBook } from '../../src/main/engine/lane/range-book';
import type { PlannedRange } from '../../src/main/engine/plan';
import { rangeReportsOf, unpackBatchReport, type PackedBatchReport } from '../../src/shared/range-table';

const dir = mkdtempSync(join(tmpdir(), 'sureflash-report-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the --report file', () => {
  it('is written in pieces exactly as JSON.stringify(value, null, 2) would write it', () => {
    const path = join(dir, 'report.json');
    const file = ReportFile.open(path, { image: 'os.img', targets: ['/dev/sdb'], startedAt: '2026-01-01T00:00:00.000Z' });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ status: 'in-progress' });
    const ranges = Array.from({ length: 20_000 }, (_, i) => ({ index: i, first: i * 3, last: i * 3 + 1, state: 'verified', badBlocks: i % 997 === 0 ? [{ first: i, last: i }] : undefined }));
    const value = {
      kind: 'batch', empty: [], none: {}, nothing: null, skipped: undefined, fn: () => 1, when: new Date(0), nan: Number.NaN,
      text: 'quote " backslash \\ newline \n ünïcödé \u2028', list: [1, 'two', null, undefined, true, [[]], { a: [{}] }],
      cards: [{ target: { path: '/dev/sdb' }, ranges }],
    };
    file.write(value);
    expect(readFileSync(path, 'utf8')).toBe(`${JSON.stringify(value, null, 2)}\n`);
  });

  it('writes a packed range table as the array of range reports it stands for, byte for byte', () => {
    const planned: PlannedRange[] = Array.from({ length: 3000 }, (_, i) => ({ index: i, first: i * 5, last: i * 5 + (i % 4), start: i * 5 * 4096, end: (i * 5 + (i % 4) + 1) * 4096, checksum: null }));
    const book = new RangeBook(planned, 'verified');
    planned.forEach((r, i) => {
      book.pieceStarted(r, true);
      const bad = i % 1000 === 7 ? [{ first: r.first, last: r.first }] : [];
      const retried = i % 500 === 3 ? [{ first: r.last, last: r.last }] : [];
      book.pieceSettled(r, { bytes: r.end - r.start, passes: retried.length, rewrittenBlocks: retried.length, retried, bad, writtenBlocks: r.last - r.first + 1, skippedBlocks: 0, mediaErrors: i % 1000 === 7 ? 1 : 0 });
    });
    const table = book.table();
    const objects = rangeReportsOf(table);
    expect(objects.filter((r) => r.state === 'failed').map((r) => r.index)).toEqual([7, 1007, 2007]);
    expect(objects[3]).toMatchObject({ retries: 1, retriedBlocks: 1, retriedSpans: [{ first: 18, last: 18 }] });
    const packed = { kind: 'batch', status: 'failed', cards: [{ kind: 'card', blockSize: 4096, ranges: table, totals: { mappedBytes: 1 } }], summary: { cards: 1 } } as unknown as PackedBatchReport;
    const path = join(dir, 'packed.json');
    ReportFile.open(path, { image: 'os.img', targets: ['/dev/sdb'], startedAt: '' }).write(packed);
    const text = readFileSync(path, 'utf8');
    expect(text).toBe(`${JSON.stringify(unpackBatchReport(packed), null, 2)}\n`);
    expect(JSON.parse(text).cards[0].ranges).toEqual(book.reports());
  });

  it('refuses a folder it cannot write to, by name', () => {
    expect(() => ReportFile.open(join(dir, 'missing', 'r.json'), { image: 'a', targets: [], startedAt: '' })).toThrow(/cannot write the report .*missing/);
  });
});
