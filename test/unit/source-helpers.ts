import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ImageSource } from '../../src/main/engine/source';

/** A scratch directory under the OS temp dir, removed by `cleanup`. */
export function scratch(prefix: string): { dir: string; file: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `sureflash-${prefix}-`));
  return { dir, file: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** An image-like payload: random data, a long zero run (a hole), and more random data. */
export function sampleImage(size = 3 * 1024 * 1024 + 123): Buffer {
  const buf = Buffer.alloc(size);
  randomBytes(Math.floor(size / 3)).copy(buf, 0);
  randomBytes(Math.floor(size / 4)).copy(buf, Math.floor((size * 2) / 3));
  return buf;
}

/** Runs a real program (compressors, zip, mkfifo), optionally feeding stdin; returns stdout. */
export function run(program: string, args: string[], cwd?: string, input?: Buffer): Buffer {
  return execFileSync(program, args, { cwd, input, maxBuffer: 1 << 30 });
}

/** Writes `data` to `path` and compresses it with the system program for `format`; returns the output path. */
export function compress(path: string, data: Buffer, format: 'gzip' | 'xz' | 'zstd' | 'bzip2', extraArgs: string[] = []): string {
  writeFileSync(path, data);
  const ext = { gzip: '.gz', xz: '.xz', zstd: '.zst', bzip2: '.bz2' }[format];
  const args = format === 'zstd' ? ['-q', '-f', '--rm', ...extraArgs, path] : ['-f', ...extraArgs, path];
  run(format, args);
  return path + ext;
}

/** Reads a whole source stream into one buffer, recording chunk sizes. */
export async function drain(source: ImageSource): Promise<{ data: Buffer; chunks: number[] }> {
  const parts: Buffer[] = [];
  const chunks: number[] = [];
  for await (const chunk of source.stream()) {
    parts.push(Buffer.from(chunk));
    chunks.push(chunk.length);
  }
  return { data: Buffer.concat(parts), chunks };
}

/** Children of this process whose command name matches. */
export function childProcesses(name: string): number[] {
  let out: string;
  try {
    out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there are none
  }
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((parts) => parts[1] === name)
    .map((parts) => Number(parts[0]));
}
