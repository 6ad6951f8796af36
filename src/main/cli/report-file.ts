/**
 * The `--report FILE` file: checked before anything is written (its folder must take a file), marked "in
 * progress" while the job runs — so a run killed mid-way never leaves an older "verified" report behind —
 * and replaced atomically (temporary file + rename) by the final report. Synchronous on purpose: a stalled
 * card may hold every thread of the I/O pool, and the verdict must still reach the file.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isRangeTable, rangeReportAt } from '../../shared/range-table';
import { EngineError } from '../engine/errors';

export class ReportFile {
  readonly path: string;

  private constructor(path: string) {
    this.path = resolve(path);
  }

  /** Checks that the report can be written and marks it in progress; throws REPORT_UNWRITABLE. */
  static open(path: string, what: { image: string; targets: string[]; startedAt: string }): ReportFile {
    const file = new ReportFile(path);
    file.write({ status: 'in-progress', note: 'sureflash is running (or was killed): this is not a result', ...what });
    return file;
  }

  write(value: unknown): void {
    const temp = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.tmp`);
    try {
      writeJsonFile(temp, value);
      renameSync(temp, this.path);
    } catch (err) {
      rmSync(temp, { force: true });
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new EngineError('REPORT_UNWRITABLE', `cannot write the report ${this.path} (${code}): choose a file in a folder you can write to`);
    }
  }
}

/** Bytes gathered before each write to the file. */
const WRITE_BYTES = 256 * 1024;

/**
 * Writes `value` as JSON.stringify(value, null, 2) would, plus a newline, in pieces: a batch of 50,000
 * ranges per card is tens of megabytes of text, which should not be held as one string (and again as its
 * bytes) at the end of a job. A packed range table (shared/range-table.ts) is written as the array of range
 * reports it stands for, one range object at a time.
 */
function writeJsonFile(path: string, value: unknown): void {
  const fd = openSync(path, 'w', 0o644);
  try {
    let pending: string[] = [];
    let size = 0;
    const out = (text: string): void => {
      pending.push(text);
      size += text.length;
      if (size < WRITE_BYTES) return;
      writeSync(fd, pending.join(''));
      pending = [];
      size = 0;
    };
    emit(value, '', out);
    out('\n');
    writeSync(fd, pending.join(''));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** One JSON value at indentation `indent`; undefined and functions are left out of objects (null in arrays). */
function emit(input: unknown, indent: string, out: (text: string) => void): void {
  const value = typeof (input as { toJSON?: unknown } | null)?.toJSON === 'function' ? (input as { toJSON(): unknown }).toJSON() : input;
  if (value === null || typeof value !== 'object') {
    out(JSON.stringify(value) ?? 'null');
    return;
  }
  const inner = `${indent}  `;
  if (isRangeTable(value)) {
    if (value.count === 0) return out('[]');
    out('[');
    for (let at = 0; at < value.count; at++) {
      out(`${at > 0 ? ',' : ''}\n${inner}`);
      emit(rangeReportAt(value, at), inner, out);
    }
    return out(`\n${indent}]`);
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return out('[]');
    out('[');
    value.forEach((item: unknown, i) => {
      out(`${i > 0 ? ',' : ''}\n${inner}`);
      emit(item === undefined || typeof item === 'function' ? null : item, inner, out);
    });
    return out(`\n${indent}]`);
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol');
  if (entries.length === 0) return out('{}');
  out('{');
  entries.forEach(([key, item], i) => {
    out(`${i > 0 ? ',' : ''}\n${inner}${JSON.stringify(key)}: `);
    emit(item, inner, out);
  });
  out(`\n${indent}}`);
}
