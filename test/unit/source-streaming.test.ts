import { afterAll, describe, expect, it } from 'vitest';
import { openSync, writeSync, closeSync, ftruncateSync, writeFileSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSource } from '../../src/main/engine/source';
import type { DecoderPreference } from '../../src/main/engine/source';
import { childProcesses, compress, drain, run, sampleImage, scratch } from './source-helpers';

const tmp = scratch('streaming');
afterAll(() => tmp.cleanup());

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('stopping early', { timeout: 60_000 }, () => {
  const big = sampleImage(8 * 1024 * 1024);
  it.each([
    ['xz', 'xz'],
    ['bzip2', 'bzip2'],
  ] as const)('breaking out of a %s stream kills the system decoder', async (format, program) => {
    const path = compress(tmp.file(`early-${format}.img`), big, format, ['-1']);
    const source = await openSource(path, { decoder: 'auto' });
    expect(source.decoder).toMatch(/system/);
    let pids: number[] = [];
    for await (const chunk of source.stream()) {
      expect(chunk.length).toBeGreaterThan(0);
      pids = childProcesses(program);
      break;
    }
    expect(pids).toHaveLength(1);
    expect(isAlive(pids[0]!)).toBe(false);
    expect(childProcesses(program)).toEqual([]);
    await source.close();
  });

  it('close() stops a pass the consumer abandoned', async () => {
    const path = compress(tmp.file('abandon.img'), big, 'xz');
    const source = await openSource(path, { decoder: 'auto' });
    const iterator = source.stream()[Symbol.asyncIterator]();
    await iterator.next();
    const [pid] = childProcesses('xz');
    expect(pid).toBeDefined();
    await source.close();
    expect(isAlive(pid!)).toBe(false);
  });

  it('the built-in xz decoder can be abandoned and used again (its context lock is released)', async () => {
    const path = compress(tmp.file('again.img'), big.subarray(0, 4 << 20), 'xz');
    const source = await openSource(path, { decoder: 'builtin' });
    for await (const _chunk of source.stream()) break;
    expect((await drain(source)).data.equals(big.subarray(0, 4 << 20))).toBe(true);
    await source.close();
  });
});

describe.each(['auto', 'builtin'] as DecoderPreference[])('standard input (decoder %s)', { timeout: 30_000 }, (decoder) => {
  const image = sampleImage(1024 * 1024);
  it.each(['gzip', 'xz', 'zstd'] as const)('"-" decodes %s from stdin once', async (format) => {
    const path = compress(tmp.file(`stdin-${decoder}-${format}.img`), image, format);
    const stdin = new PassThrough();
    const bytes = readFileSync(path);
    // Feed in small pieces so the head is assembled from several reads.
    setImmediate(() => {
      for (let i = 0; i < bytes.length; i += 1000) stdin.write(bytes.subarray(i, i + 1000));
      stdin.end();
    });
    const source = await openSource('-', { decoder, stdin });
    expect(source.compression).toBe(format);
    expect(source.fileSize).toBeNull();
    expect(source.readAt).toBeNull();
    expect((await drain(source)).data.equals(image)).toBe(true);
    await expect(drain(source)).rejects.toMatchObject({ code: 'USAGE' });
    await source.close();
  });

  it('raw stdin streams as is', async () => {
    const stdin = new PassThrough();
    setImmediate(() => stdin.end(image));
    const source = await openSource('-', { decoder, stdin });
    expect(source.compression).toBe('none');
    expect(source.imageSize).toBeNull();
    expect((await drain(source)).data.equals(image)).toBe(true);
  });
});

describe('named pipes', () => {
  it('a FIFO (e.g. <(curl ...)) is read once like stdin, with the system decoder fed from it', { timeout: 30_000 }, async () => {
    const image = sampleImage(512 * 1024);
    const path = compress(tmp.file('fifo-src.img'), image, 'xz', ['-1']);
    const fifo = tmp.file('pipe');
    run('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', path, fifo], { stdio: 'ignore' });
    const writerDone = new Promise((resolve) => writer.once('close', resolve));
    // As with <(curl ...), the writer holds the other end before Sureflash looks (a FIFO nothing writes
    // into is refused): wait until the shell waits in its open of the FIFO for a reader.
    for (let i = 0; readFileSync(`/proc/${writer.pid}/wchan`, 'utf8') !== 'wait_for_partner'; i++) {
      if (i > 400) throw new Error('the writer did not open the FIFO');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const source = await openSource(fifo, { decoder: 'auto' });
    expect(source.compression).toBe('xz');
    expect(source.fileSize).toBeNull();
    expect((await drain(source)).data.equals(image)).toBe(true);
    await expect(drain(source)).rejects.toMatchObject({ code: 'USAGE' });
    await source.close();
    await writerDone;
  });
});

const memoryCases = [
  { format: 'zstd', decoder: 'auto' },
  { format: 'zstd', decoder: 'builtin' },
  { format: 'gzip', decoder: 'builtin' },
] as const;

describe.each(memoryCases)('bounded memory ($format, decoder $decoder)', ({ format, decoder }) => {
  it('streams a 1 GiB sparse image without holding it', { timeout: 120_000 }, async () => {
    const raw = tmp.file(`sparse-${format}-${decoder}.img`);
    const fd = openSync(raw, 'w');
    ftruncateSync(fd, 1024 ** 3);
    for (const at of [0, 300 * 1024 ** 2, 1024 ** 3 - 65536]) writeSync(fd, randomBytes(65536), 0, 65536, at);
    closeSync(fd);
    const compressed = format === 'zstd' ? `${raw}.zst` : `${raw}.gz`;
    if (format === 'zstd') run('zstd', ['-q', '-1', '-f', raw, '-o', compressed]);
    else run('gzip', ['-1', '-k', '-f', raw]);
    writeFileSync(raw, ''); // free the disk space; only the compressed file is read
    const source = await openSource(compressed, { decoder });
    expect(source.imageSize).toBe(format === 'zstd' ? 1024 ** 3 : null);
    const before = process.memoryUsage().rss;
    let peak = before;
    let total = 0;
    let biggest = 0;
    for await (const chunk of source.stream()) {
      total += chunk.length;
      biggest = Math.max(biggest, chunk.length);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    await source.close();
    expect(total).toBe(1024 ** 3);
    expect(biggest).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(peak - before).toBeLessThan(256 * 1024 * 1024);
  });
});

describe('gzip decoding waits for its reader', () => {
  it('does not inflate a whole 1 MiB write of zeros (about 1 GiB) while nobody pulls', { timeout: 60_000 }, async () => {
    // gzip -9 packs 1 GiB of zeros into ~1 MiB: the decoder's first 1 MiB write alone expands to ~1 GiB.
    const gz = tmp.file('zeros.img.gz');
    const zeros = spawn('sh', ['-c', 'head -c 1G /dev/zero | gzip -9 > "$1"', 'sh', gz], { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => zeros.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`gzip exit ${code}`)))));
    const source = await openSource(gz, { decoder: 'auto' });
    const chunks = source.stream()[Symbol.asyncIterator]();
    try {
      const first = await chunks.next();
      expect(first.done).toBe(false);
      const before = process.memoryUsage().rss;
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(process.memoryUsage().rss - before).toBeLessThan(128 * 1024 * 1024);
    } finally {
      await chunks.return?.(undefined);
      await source.close();
    }
  });
});
