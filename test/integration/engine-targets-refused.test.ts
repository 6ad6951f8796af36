/**
 * Issue 10 §6 and §1 through the built CLI: targets and report paths refused before the first byte is
 * written, the report file while a job runs and after it is killed, and what a report says about how the
 * card was verified.
 *
 * - a DEST under /dev that does not exist (a card that did not enumerate): TARGET_NOT_FOUND, and no file
 *   appears there; a regular file left in /dev is not taken for a device;
 * - a read-only loop device (`losetup --read-only`): TARGET_READ_ONLY before any write;
 * - `--report` to a path that cannot be written: refused before the target is touched;
 * - the report file says in progress while the job runs, is never half-written, and a SIGKILL leaves no
 *   earlier "verified" behind;
 * - the report of a good copy: readback direct, after a flush, how many flushes, the final pass's amounts
 *   (first 16 MiB and last 32 MiB of mapped data, the probe's markers), the probe, and the device's write-cache
 *   mode as sysfs gives it.
 *
 * Build first: `node scripts/build.mjs`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, promises as fsp, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchReport } from '../../src/shared/report';
import { bmaptoolCreate, makeSparseImage, STANDARD_LAYOUT, makeRandomSparseImage } from '../helpers/bmap-fixtures';
import { cardsPerTest } from '../helpers/card-checks';
import { cliBin, cliBuilt, describeRun, runCli } from '../helpers/cli';
import { attachLoop } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

const MiB = 1024 * 1024;
let dir = '';
let image = '';
let bmap = '';

/** A sparse image of `size` bytes with `length` random bytes from offset 0, and its bmap. */
const randomImage = (name: string, size: number, length: number): Promise<{ path: string; bmap: string }> =>
  makeRandomSparseImage(dir, name, size, 0, length);

beforeAll(async () => {
  if (!cliBuilt()) throw new Error('build the CLI first: node scripts/build.mjs');
  dir = mkdtempSync(join(tmpdir(), 'sureflash-refused-'));
  image = await makeSparseImage(dir, 'os.img', STANDARD_LAYOUT);
  bmap = `${image}.bmap`;
  await bmaptoolCreate(image, bmap);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('targets and report paths refused before anything is written', () => {
  it('copy to a /dev path that does not exist: TARGET_NOT_FOUND, and no file is created there', async () => {
    for (const missing of ['/dev/sdz9', '/dev/disk/by-id/usb-Sureflash_Missing_Card-0:0']) {
      expect(existsSync(missing)).toBe(false);
      const result = await runCli(['copy', '--bmap', bmap, image, missing]);
      expect(result.code, describeRun(result)).toBe(1);
      expect(result.report?.error?.code).toBe('TARGET_NOT_FOUND');
      expect(result.stderr).toContain(`device ${missing} does not exist`);
      expect(result.stderr).toContain('never creates files in /dev');
      expect(existsSync(missing), `${missing} was created`).toBe(false);
    }
  });

  it('--report into a folder that does not exist, or onto a directory: refused, and the target is untouched', async () => {
    const target = join(dir, 'untouched.img');
    const filled = Buffer.alloc(2 * MiB, 0xff);
    writeFileSync(target, filled);
    const folder = join(dir, 'a-folder');
    mkdirSync(folder);
    for (const report of [join(dir, 'no-such-folder', 'report.json'), folder]) {
      const result = await runCli(['copy', '--report', report, '--bmap', bmap, image, target], { report: false });
      expect(result.code, describeRun(result)).toBe(1);
      expect(result.stderr).toMatch(/sureflash: error: cannot write the report .* choose a file in a folder you can write to/);
      expect(readFileSync(target).equals(filled)).toBe(true);
    }
  });
});

describeRoot('devices refused before anything is written (root: loop devices, /dev)', () => {
  it('a read-only loop device: TARGET_READ_ONLY, nothing written', async () => {
    const backing = join(dir, 'ro.bin');
    writeFileSync(backing, Buffer.alloc(4 * MiB, 0x77));
    const loop = await attachLoop(backing, { readOnly: true });
    try {
      const result = await runCli(['copy', '--bmap', bmap, image, loop.device]);
      expect(result.code, describeRun(result)).toBe(1);
      expect(result.report?.error?.code).toBe('TARGET_READ_ONLY');
      expect(result.stderr).toContain(`${loop.device} is read-only`);
      expect(result.report?.totals.bytesWritten).toBe(0);
    } finally {
      await loop.detach();
    }
    expect(readFileSync(backing).equals(Buffer.alloc(4 * MiB, 0x77))).toBe(true);
  });

  it('a regular file left in /dev is not taken for a device', async () => {
    const stray = `/dev/sureflash-stray-${process.pid}`;
    writeFileSync(stray, Buffer.alloc(4096, 1));
    try {
      const result = await runCli(['copy', '--bmap', bmap, image, stray]);
      expect(result.code, describeRun(result)).toBe(1);
      expect(result.report?.error?.code).toBe('TARGET_INVALID');
      expect(result.stderr).toContain('is a regular file in /dev, not a device');
      expect(readFileSync(stray).equals(Buffer.alloc(4096, 1))).toBe(true);
    } finally {
      rmSync(stray, { force: true });
    }
  });

  it('the report of a good copy says how it verified: direct readback after flushes, the final pass amounts, the probe, the write-cache mode', async () => {
    const big = await randomImage('report-fields.img', 96 * MiB, 64 * MiB);
    const backing = join(dir, 'fields.bin');
    writeFileSync(backing, '');
    await fsp.truncate(backing, 128 * MiB);
    const loop = await attachLoop(backing);
    try {
      const result = await runCli(['copy', '--bmap', big.bmap, big.path, loop.device]);
      expect(result.code, describeRun(result)).toBe(0);
      const report = result.report!;
      expect(report.status).toBe('verified');
      expect(report.readback).toBe('direct');
      expect(report.target.writeCache).toBe(readFileSync(`/sys/block/${basename(loop.device)}/queue/write_cache`, 'utf8').trim());
      expect(report.target.sectorSize).toBe(512);
      expect(report.verification?.afterFlush).toBe(true);
      // Flushes are batched (at most 16 MiB of writing between two), plus the final pass's and the last one.
      expect(report.verification?.flushes).toBeGreaterThanOrEqual(64 / 16 + 1);
      expect(report.probe?.status).toBe('passed');
      expect(report.probe?.markers).toBeGreaterThan(0);
      expect(report.verification?.finalPass).toEqual({ bytes: 48 * MiB, firstBytes: 16 * MiB, lastBytes: 32 * MiB, markers: report.probe?.markers, mismatchedBlocks: 0 });
      expect(report.options).toMatchObject({ probe: true, ioTimeoutMs: 30_000 });
      // The final pass read again what it says: 64 MiB read back once, plus its 48 MiB.
      expect(report.totals.bytesReadBack).toBeGreaterThanOrEqual(64 * MiB + 48 * MiB);

      const small = await runCli(['copy', '--no-probe', '--bmap', bmap, image, loop.device]);
      expect(small.code, describeRun(small)).toBe(0);
      expect(small.report?.probe ?? null).toBeNull();
      expect(small.report?.options.probe).toBe(false);
      const mapped = small.report!.totals.mappedBytes;
      expect(small.report?.verification?.finalPass).toEqual({ bytes: expect.any(Number), firstBytes: mapped, lastBytes: 0, markers: 0, mismatchedBlocks: 0 });
      expect(small.report!.verification!.finalPass!.bytes).toBeGreaterThanOrEqual(mapped);
    } finally {
      await loop.detach();
    }
  });
});

describeRoot('the report file while the job runs (card fixture)', () => {
  const startCard = cardsPerTest();

  it('says in progress while running, is never half-written, and a SIGKILL leaves no earlier "verified" behind', async () => {
    const big = await randomImage('killed.img', 64 * MiB, 48 * MiB);
    const card = await startCard({ size: 64 * MiB, bus: { writeMBps: 20, readMBps: 80 } });
    const reportFile = join(dir, 'kept-report.json');
    // An earlier good run leaves a verified report.
    const first = await runCli(['copy', '--report', reportFile, '--bmap', big.bmap, '-q', big.path, card.loop], { report: false, timeoutMs: 150_000 });
    expect(first.code, describeRun(first)).toBe(0);
    expect((JSON.parse(readFileSync(reportFile, 'utf8')) as BatchReport).status).toBe('verified');

    const child = spawn(process.execPath, [cliBin, 'copy', '--report', reportFile, '--bmap', big.bmap, '-q', big.path, card.loop], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    const seen: string[] = [];
    try {
      const before = (await card.stats()).bytesWritten;
      for (let waited = 0; (await card.stats()).bytesWritten - before < 8 * MiB; waited += 20) {
        if (waited > 60_000) throw new Error('the second copy did not start writing');
        // Every read of the file is whole JSON: the report is replaced atomically.
        const status = (JSON.parse(readFileSync(reportFile, 'utf8')) as { status: string }).status;
        if (seen[seen.length - 1] !== status) seen.push(status);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const during = JSON.parse(readFileSync(reportFile, 'utf8')) as { status: string; note: string; targets: string[] };
      expect(during.status).toBe('in-progress');
      expect(during.note).toMatch(/not a result/);
      expect(during.targets).toEqual([card.loop]);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    // The earlier verdict may be seen until the new run starts; once in progress, never again.
    expect(seen.slice(seen.indexOf('in-progress'))).toEqual(['in-progress']);
    expect(seen.length).toBeLessThanOrEqual(2);
    const after = JSON.parse(readFileSync(reportFile, 'utf8')) as { status: string };
    expect(after.status).toBe('in-progress');
  }, 180_000);
}, { fuse: true });
