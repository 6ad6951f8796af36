import { describe, expect, it } from 'vitest';
import { csvCell, historyCsv, historyExport } from '../../src/main/history/history-export';
import { flashRecord } from '../helpers/history-fixtures';

describe('csvCell', () => {
  it('quotes commas, quotes and line breaks (RFC 4180) and leaves plain text and numbers alone', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(-3)).toBe('-3');
    expect(csvCell(1.5e6)).toBe('1500000');
    expect(csvCell(true)).toBe('true');
    expect(csvCell(null)).toBe('');
  });

  it('text a spreadsheet would run as a formula starts with an apostrophe', () => {
    expect(csvCell('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    for (const lead of ['+', '-', '@', '\t']) expect(csvCell(`${lead}1`)).toBe(`'${lead}1`);
  });
});

describe('historyCsv and historyExport', () => {
  it('a header, then one CRLF-ended line per flash in the order given', () => {
    const rows = [{ ...flashRecord(), id: 7 }, { ...flashRecord({ image: { name: 'b.img', hash: null, size: null } }), id: 9 }];
    const lines = historyCsv(rows).split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('');
    expect(lines[0]?.split(',')).toContain('health_reasons');
    expect(lines[1]?.startsWith('7,,bench-1,')).toBe(true);
    expect(lines[2]?.split(',')[17]).toBe('b.img');
    expect(historyCsv([])).toBe(`${lines[0]}\r\n`);
  });

  it('the JSON export names its format, version, time and filter', () => {
    expect(historyExport([], [], { sessionId: 's' }, new Date('2025-01-02T03:04:05Z'))).toEqual({
      format: 'sureflash-history',
      version: 1,
      exportedAt: '2025-01-02T03:04:05.000Z',
      filter: { sessionId: 's' },
      cards: [],
      flashes: [],
    });
  });
});
