import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReportFile } from '../../src/main/cli/report-file';

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

  it('refuses a folder it cannot write to, by name', () => {
    expect(() => ReportFile.open(join(dir, 'missing', 'r.json'), { image: 'a', targets: [], startedAt: '' })).toThrow(/cannot write the report .*missing/);
  });
});
