/**
 * The `--report FILE` file: checked before anything is written (its folder must take a file), marked "in
 * progress" while the job runs — so a run killed mid-way never leaves an older "verified" report behind —
 * and replaced atomically (temporary file + rename) by the final report. Synchronous on purpose: a stalled
 * card may hold every thread of the I/O pool, and the verdict must still reach the file.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
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
      writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o644 });
      renameSync(temp, this.path);
    } catch (err) {
      rmSync(temp, { force: true });
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new EngineError('REPORT_UNWRITABLE', `cannot write the report ${this.path} (${code}): choose a file in a folder you can write to`);
    }
  }
}
