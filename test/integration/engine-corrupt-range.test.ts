/**
 * Issue 10 §4: a corrupt image must not reach the card, and must say when it has. Through the built CLI onto
 * a loop device pre-filled with 0xFF:
 *
 * - an 8 MiB range damaged near its end (raw: positioned reads; .gz: the stream) is held until its checksum
 *   is proven, so not one byte of it is written; the report names it `source-mismatch`;
 * - a 48 MiB range (too big to hold: the pool holds ranges up to 16 MiB) damaged near its end is written in
 *   part; the error, the report (`source-mismatch`, `unsafeToUse`) and the last line of the CLI say that the
 *   card holds a partial, damaged image and must not be used.
 *
 * Build first: `node scripts/build.mjs`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bmaptoolCreate, makeSparseImage, type SparseLayout } from '../helpers/bmap-fixtures';
import { cliBuilt, describeRun, runCli } from '../helpers/cli';
import { attachLoop, readDirect } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

const MiB = 1024 * 1024;
const DEVICE_SIZE = 64 * MiB;

let dir = '';

/** Makes the image and its bmap, then changes one byte at `flip` (after the bmap was made). */
async function damagedImage(name: string, layout: SparseLayout, flip: number): Promise<{ image: string; bmap: string }> {
  const image = await makeSparseImage(dir, name, layout);
  const bmap = `${image}.bmap`;
  await bmaptoolCreate(image, bmap);
  const fd = openSync(image, 'r+');
  try {
    const byte = Buffer.alloc(1);
    byte[0] = (readFileSync(image).subarray(flip, flip + 1)[0] ?? 0) ^ 0x5a;
    writeSync(fd, byte, 0, 1, flip);
  } finally {
    closeSync(fd);
  }
  return { image, bmap };
}

beforeAll(() => {
  if (!cliBuilt()) throw new Error('build the CLI first: node scripts/build.mjs');
  dir = mkdtempSync(join(tmpdir(), 'sureflash-corrupt-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A loop device over DEVICE_SIZE bytes of 0xFF, detached after `fn`. */
async function withFilledLoop<T>(name: string, fn: (device: string) => Promise<T>): Promise<T> {
  const backing = join(dir, `${name}.dev`);
  writeFileSync(backing, Buffer.alloc(DEVICE_SIZE, 0xff));
  const loop = await attachLoop(backing);
  try {
    return await fn(loop.device);
  } finally {
    await loop.detach();
  }
}

/** 1 MiB good range, then an 8 MiB range (blocks 1024-3071) damaged 7 MiB in; image 32 MiB. */
const HELD: SparseLayout = {
  size: 32 * MiB,
  extents: [
    { offset: 0, length: 1 * MiB, seed: 41 },
    { offset: 4 * MiB, length: 8 * MiB, seed: 42 },
  ],
};
/**
 * 1 MiB good range, then a 48 MiB range (blocks 1024-13311) damaged 47 MiB in; image 56 MiB. The range is
 * bigger than the whole chunk pool (32 MiB), so the producer reaches the damage only after the card wrote
 * and released the range's first chunks.
 */
const STREAMED: SparseLayout = {
  size: 56 * MiB,
  extents: [
    { offset: 0, length: 1 * MiB, seed: 43 },
    { offset: 4 * MiB, length: 48 * MiB, seed: 44 },
  ],
};

describeRoot('a corrupt image and the card', () => {
  for (const compressed of [false, true]) {
    it(`an 8 MiB range damaged near its end${compressed ? ' (.gz, streamed)' : ''}: not one byte of it is written; the report says source-mismatch`, async () => {
      const { image, bmap } = await damagedImage(`held${compressed ? '-gz' : ''}.img`, HELD, 11 * MiB + 123);
      let input = image;
      if (compressed) {
        execFileSync('gzip', ['-k', '-1', image]);
        input = `${image}.gz`;
      }
      await withFilledLoop(`held${compressed ? '-gz' : ''}`, async (device) => {
        const result = await runCli(['copy', '--bmap', bmap, input, device]);
        expect(result.code, describeRun(result)).toBe(1);
        const report = result.report!;
        expect(report.status).toBe('failed');
        expect(report.error?.code).toBe('SOURCE_CHECKSUM_MISMATCH');
        expect(result.stderr).toContain('range 2 (blocks 1024-3071) does not match the bmap checksum');
        // Held back: nothing of the range reached the card, so nothing says it did.
        expect(result.stderr).not.toMatch(/already written/);
        expect(report.ranges[1]?.state).toBe('source-mismatch');
        expect(report.totals.sourceMismatchRanges).toBe(1);
        const range = await readDirect(device, 4 * MiB, 8 * MiB);
        expect(range.equals(Buffer.alloc(8 * MiB, 0xff)), 'the damaged range must not reach the card').toBe(true);
      });
    }, 120_000);
  }

  it('a 48 MiB range (too big to hold) damaged near its end: written in part, and the error, report and CLI say the card must not be used', async () => {
    const { image, bmap } = await damagedImage('streamed.img', STREAMED, 51 * MiB + 77);
    await withFilledLoop('streamed', async (device) => {
      const result = await runCli(['copy', '--bmap', bmap, image, device]);
      expect(result.code, describeRun(result)).toBe(1);
      const report = result.report!;
      expect(report.status).toBe('failed');
      expect(report.error?.code).toBe('SOURCE_CHECKSUM_MISMATCH');
      expect(report.error?.message).toMatch(/range 2 \(blocks 1024-13311\) does not match the bmap checksum; part of that range was already written, so the card holds a damaged image and must not be used/);
      expect(report.ranges[1]?.state).toBe('source-mismatch');
      expect(report.ranges.some((r) => r.state === 'pending' && r.index === 1)).toBe(false);
      expect(report.totals.sourceMismatchRanges).toBe(1);
      expect(report.unsafeToUse, JSON.stringify(report.totals)).toBe(true);
      expect(result.stderr).toMatch(/Failed: .*The card holds a partial image: do not use it\./);
      // The premise: part of the range did reach the card.
      const head = await readDirect(device, 4 * MiB, 1 * MiB);
      expect(head.equals(readFileSync(image).subarray(4 * MiB, 5 * MiB)), "the start of the range is on the card").toBe(true);
    });
  }, 120_000);
});
