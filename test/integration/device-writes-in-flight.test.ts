/**
 * The device executor's writes, many in flight (the native module's writeMany, Linux AIO) and one by one
 * (synchronous), on real loop devices and on the FUSE card: every assertion holds on both paths. Many small
 * aligned writes land byte-exact; a write over an earlier one of the same batch still lands last; a write
 * past the device's end in the middle of a run is the error, with everything before it written and nothing
 * after; a media error (EIO) inside a run names exactly that write, with the code and message the
 * synchronous call gives, also when its neighbours touch it. The in-flight path is watched through a
 * recording writeMany, so a test also proves which writes went in flight together (never two that overlap
 * or touch).
 *
 * Build first (`node scripts/build.mjs`): the native module is dist/main/sureflash-io.node. Without it the
 * in-flight suites skip with the reason, except under CI, where its absence fails.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceExecutor, type WritesInFlight } from '../../src/main/engine/device/device-executor';
import type { DeviceBatchResult, DeviceOp } from '../../src/main/engine/device/device-protocol';
import { writesInFlight } from '../../src/main/engine/device/writes-in-flight';
import { nativeIoMissing } from '../../src/main/system/native-io';
import { patternBytes } from '../helpers/bmap-fixtures';
import { cardsPerTest } from '../helpers/card-checks';
import { alignedBuffer, attachLoop, readDirect, type LoopDevice } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

const MiB = 1024 * 1024;

/** A zeroed loop device of `size` bytes on a file of its own for the suite (attached before, detached after). */
function blankLoopDevice(prefix: string, size: number): () => string {
  let dir = '';
  let loop: LoopDevice | null = null;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    const file = join(dir, 'device.img');
    writeFileSync(file, '');
    truncateSync(file, size);
    loop = await attachLoop(file);
  });
  afterAll(async () => {
    await loop?.detach();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => (loop as LoopDevice).device;
}
const BLOCK = 4096;
const missing = nativeIoMissing();
const inCi = Boolean(process.env.CI);

describe('the native module for writes in flight', () => {
  const test = missing !== null && !inCi ? it.skip : it;
  const name = missing !== null && !inCi ? `is built and loads (skipped: ${missing}; under CI this fails)` : 'is built and loads (CI must never run without it)';
  if (missing !== null && !inCi) process.stderr.write(`[skip] native module: ${missing}\n`);
  test(name, () => {
    expect(missing, 'dist/main/sureflash-io.node: run `node scripts/build.mjs` with a C compiler and Node headers').toBeNull();
    expect(writesInFlight()).not.toBeNull();
  });
});

/** A writeMany that records every call's writes before passing them on. */
function recording(inner: WritesInFlight): { inFlight: WritesInFlight; calls: { offset: number; length: number }[][] } {
  const calls: { offset: number; length: number }[][] = [];
  return {
    calls,
    inFlight: {
      writeMany(fd, memory, table, depth, results) {
        const writes: { offset: number; length: number }[] = [];
        for (let i = 0; i < table.length; i += 3) writes.push({ offset: table[i] as number, length: table[i + 1] as number });
        calls.push(writes);
        inner.writeMany(fd, memory, table, depth, results);
      },
      describe: (errno, syscall) => inner.describe(errno, syscall),
    },
  };
}

interface Path {
  name: string;
  inFlight: boolean;
}

const PATHS: Path[] = [
  { name: 'many in flight (writeMany)', inFlight: true },
  { name: 'one by one (synchronous)', inFlight: false },
];

/** Opens `device` with the path's executor; `calls` records the in-flight path's writeMany calls. */
function openExecutor(path: Path, device: string, memory: Buffer): { executor: DeviceExecutor; calls: { offset: number; length: number }[][] } {
  const rec = path.inFlight ? recording(writesInFlight() as WritesInFlight) : null;
  const executor = DeviceExecutor.open({ path: device, mode: 'copy', kind: 'block-device' }, memory, { inFlight: rec?.inFlight ?? null });
  expect(executor.writesInFlight).toBe(path.inFlight);
  return { executor, calls: rec?.calls ?? [] };
}

/** Applies the batch's writes, in op order, to a model of the device (what it must hold afterwards). */
function applyWrites(model: Buffer, memory: Buffer, ops: readonly DeviceOp[], upTo = ops.length): void {
  for (const op of ops.slice(0, upTo)) if (op.op === 'write') memory.copy(model, op.offset, op.at, op.at + op.length);
}

/** The first offset where two buffers differ, or -1. */
function firstDifference(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return -1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return Math.min(a.length, b.length);
}

/** No call of writeMany held two writes that overlap or touch. */
function expectApart(calls: { offset: number; length: number }[][]): void {
  for (const call of calls) {
    const sorted = [...call].sort((x, y) => x.offset - y.offset);
    for (let i = 1; i < sorted.length; i++) {
      const before = sorted[i - 1] as { offset: number; length: number };
      expect(before.offset + before.length, `writes at ${before.offset} and ${(sorted[i] as { offset: number }).offset} went in flight together`).toBeLessThan((sorted[i] as { offset: number }).offset);
    }
  }
}

for (const path of PATHS) {
  const needsModule = path.inFlight && missing !== null;
  const suite = needsModule ? describe.skip : describeRoot;
  const title = `device executor writes, ${path.name}${needsModule ? ` (skipped: ${missing})` : ''}`;
  if (needsModule) process.stderr.write(`[skip] ${title}\n`);

  suite(title, () => {
    const SIZE = 64 * MiB;
    const memory = alignedBuffer(8 * MiB);
    const device = blankLoopDevice('sureflash-aio-', SIZE);

    /** Zeroes the device (so every test starts from a known model), and returns the model. */
    const blankDevice = (): Buffer => {
      const model = Buffer.alloc(SIZE);
      const { executor } = openExecutor({ name: 'blank', inFlight: false }, device(), memory);
      try {
        memory.fill(0);
        const ops: DeviceOp[] = [];
        for (let offset = 0; offset < SIZE; offset += 8 * MiB) ops.push({ op: 'write', offset, length: 8 * MiB, at: 0 });
        expect(executor.run(ops).error).toBeNull();
      } finally {
        executor.close();
      }
      return model;
    };

    const run = (ops: DeviceOp[]): { result: DeviceBatchResult; calls: { offset: number; length: number }[][] } => {
      const { executor, calls } = openExecutor(path, device(), memory);
      try {
        return { result: executor.run(ops), calls };
      } finally {
        executor.close();
      }
    };

    it('3,000 small aligned writes with holes, their bytes scattered in memory, land byte-exact (a partial sector and a flush between them)', async () => {
      const model = blankDevice();
      randomFillSync(memory);
      const ops: DeviceOp[] = [];
      let offset = BLOCK;
      // Memory places out of order: write i takes its bytes from a slot far from write i-1's.
      const slots = Array.from({ length: 3000 }, (_, i) => ((i * 7919) % 1500) * BLOCK);
      for (let i = 0; i < 3000; i++) {
        const length = (1 + (i % 4)) * (i % 3 === 0 ? BLOCK : 512); // 512 B .. 16 KiB, whole sectors
        ops.push({ op: 'write', offset, length, at: slots[i] as number });
        offset += length + (1 + (i % 3)) * 512;
        if (i === 1000) ops.push({ op: 'write', offset: offset + 100, length: 1000, at: 6 * MiB + 100 }); // partial sectors
        if (i === 2000) ops.push({ op: 'flush' });
        if (i === 1000 || i === 2000) offset += BLOCK * 2;
      }
      const { result, calls } = run(ops);
      expect(result.error).toBeNull();
      applyWrites(model, memory, ops);
      expect(firstDifference(await readDirect(device(), 0, SIZE), model)).toBe(-1);
      if (path.inFlight) {
        // Every whole-sector write went in flight, in groups the partial one and the flush split.
        expect(calls.reduce((n, c) => n + c.length, 0)).toBe(3000);
        expect(calls.length).toBeGreaterThanOrEqual(3);
        expectApart(calls);
      }
    });

    it('a write over an earlier write of the same batch (overlapping or adjoining) still lands last', async () => {
      const model = blankDevice();
      randomFillSync(memory);
      const ops: DeviceOp[] = [];
      for (let k = 0; k < 500; k++) {
        const base = k * 8 * BLOCK;
        ops.push({ op: 'write', offset: base, length: 4 * BLOCK, at: k * 4 * BLOCK });
        // Overlaps the write just before it; then one that adjoins it; then one over a write 3 ops back.
        ops.push({ op: 'write', offset: base + 2 * BLOCK, length: 2 * BLOCK, at: 2 * MiB + k * 2 * BLOCK });
        ops.push({ op: 'write', offset: base + 4 * BLOCK, length: BLOCK, at: 4 * MiB + k * BLOCK });
        if (k >= 1) ops.push({ op: 'write', offset: base - 8 * BLOCK + BLOCK, length: BLOCK, at: 6 * MiB + k * BLOCK });
      }
      const { result, calls } = run(ops);
      expect(result.error).toBeNull();
      applyWrites(model, memory, ops);
      expect(firstDifference(await readDirect(device(), 0, 500 * 8 * BLOCK), model.subarray(0, 500 * 8 * BLOCK))).toBe(-1);
      if (path.inFlight) {
        expectApart(calls);
        expect(calls.length).toBeGreaterThan(1);
      }
    });

    it('a write past the end of the device in the middle of a run: the error names it (EBOUNDS); the writes before it landed, none after it', async () => {
      const model = blankDevice();
      randomFillSync(memory);
      const ops: DeviceOp[] = [];
      for (let i = 0; i < 40; i++) ops.push({ op: 'write', offset: i * 2 * BLOCK, length: BLOCK, at: i * BLOCK });
      ops[20] = { op: 'write', offset: SIZE - BLOCK, length: 2 * BLOCK, at: 20 * BLOCK };
      const { result } = run(ops);
      expect(result.error).toMatchObject({ index: 20, code: 'EBOUNDS' });
      applyWrites(model, memory, ops, 20);
      expect(firstDifference(await readDirect(device(), 0, 80 * BLOCK), model.subarray(0, 80 * BLOCK))).toBe(-1);
      expect((await readDirect(device(), SIZE - BLOCK, BLOCK)).equals(Buffer.alloc(BLOCK))).toBe(true);
    });
  });

  const cardSuite = needsModule ? describe.skip : (name: string, fn: () => void): void => describeRoot(name, fn, { fuse: true });
  cardSuite(`device executor writes on the FUSE card, ${path.name}${needsModule ? ` (skipped: ${missing})` : ''}`, () => {
    const startCard = cardsPerTest();
    const memory = alignedBuffer(MiB);

    /** Runs `ops` on the card's loop device. */
    const runOnCard = (device: string, ops: DeviceOp[]): { result: DeviceBatchResult; calls: { offset: number; length: number }[][] } => {
      const { executor, calls } = openExecutor(path, device, memory);
      try {
        return { result: executor.run(ops), calls };
      } finally {
        executor.close();
      }
    };

    for (const layout of ['with holes between the writes', 'each write adjoining the next'] as const) {
      it(`a media error (EIO) inside a run of writes ${layout}: the error names exactly that write, as a synchronous write says it; the writes before it are stored`, async () => {
        const card = await startCard({ size: 16 * MiB, writeErrors: [{ block: 100, count: 1 }] });
        memory.set(patternBytes(MiB, 7));
        const step = layout === 'with holes between the writes' ? 2 : 1;
        // 40 one-block writes; write 20 is the card's block 100.
        const ops: DeviceOp[] = Array.from({ length: 40 }, (_, i) => ({ op: 'write', offset: (100 + (i - 20) * step) * BLOCK, length: BLOCK, at: i * BLOCK }));
        const { result, calls } = runOnCard(card.loop, ops);
        expect(result.error).toEqual({ index: 20, code: 'EIO', message: 'EIO: i/o error, write' });
        for (let i = 0; i < 20; i++) {
          const op = ops[i] as Extract<DeviceOp, { op: 'write' }>;
          expect((await card.storedBytes(op.offset, BLOCK)).equals(memory.subarray(op.at, op.at + BLOCK)), `write ${i}`).toBe(true);
        }
        expect((await card.storedBytes(100 * BLOCK, BLOCK)).equals(Buffer.alloc(BLOCK))).toBe(true);
        expect((await card.stats()).writeErrors).toBe(1);
        if (path.inFlight) {
          expectApart(calls);
          // With holes, the bad write went in flight with its neighbours; adjoining writes never go together.
          if (step === 2) expect(calls.some((c) => c.length > 1 && c.some((w) => w.offset === 100 * BLOCK))).toBe(true);
        }
      });
    }
  });
}

describeRoot(`device executor writes in flight: when writeMany cannot run them all${missing !== null ? ` (skipped: ${missing})` : ''}`, () => {
  const SIZE = 16 * MiB;
  const memory = alignedBuffer(MiB);
  const device = blankLoopDevice('sureflash-aio-fallback-', SIZE);

  /** 64 one-block writes with holes between them, and the device they must leave (from a zeroed device). */
  const batch = (): { ops: DeviceOp[]; model: Buffer } => {
    randomFillSync(memory);
    const ops: DeviceOp[] = Array.from({ length: 64 }, (_, i) => ({ op: 'write', offset: (1 + 3 * i) * BLOCK, length: BLOCK, at: (63 - i) * BLOCK }));
    const model = Buffer.alloc(200 * BLOCK);
    applyWrites(model, memory, ops);
    return { ops, model };
  };

  const runWith = (inFlight: WritesInFlight, ops: DeviceOp[]): DeviceBatchResult => {
    const path = device();
    const zero = DeviceExecutor.open({ path, mode: 'copy', kind: 'block-device' }, alignedBuffer(200 * BLOCK));
    expect(zero.run([{ op: 'write', offset: 0, length: 200 * BLOCK, at: 0 }]).error).toBeNull();
    zero.close();
    const executor = DeviceExecutor.open({ path, mode: 'copy', kind: 'block-device' }, memory, { inFlight });
    try {
      return executor.run(ops);
    } finally {
      executor.close();
    }
  };

  const real = (): WritesInFlight => writesInFlight() as WritesInFlight;
  const skipWithout = missing !== null ? it.skip : it;

  skipWithout('writeMany throws (io_setup failed: EAGAIN when aio-max-nr is used up): the writes run one by one, byte-exact', async () => {
    const { ops, model } = batch();
    const failing: WritesInFlight = {
      writeMany: () => {
        throw Object.assign(new Error('io_setup: Resource temporarily unavailable'), { code: 'EAGAIN' });
      },
      describe: (errno, syscall) => real().describe(errno, syscall),
    };
    expect(runWith(failing, ops).error).toBeNull();
    expect(firstDifference(await readDirect(device(), 0, 200 * BLOCK), model)).toBe(-1);
  });

  skipWithout('short writes, writes io_submit refused with EAGAIN and writes never submitted are finished one by one, byte-exact', async () => {
    const { ops, model } = batch();
    const partial: WritesInFlight = {
      writeMany(fd, mem, table, depth, results) {
        // Really write only the first half of the group; of the rest, say: short by half, EAGAIN, never submitted.
        const half = table.length / 6;
        real().writeMany(fd, mem, table.subarray(0, 3 * half), depth, results.subarray(0, half));
        for (let i = half; i < table.length / 3; i++) results[i] = i % 3 === 0 ? 0 : i % 3 === 1 ? -11 : Number.NaN;
        results[0] = 512; // and the first one short: 512 of its 4096 bytes
      },
      describe: (errno, syscall) => real().describe(errno, syscall),
    };
    expect(runWith(partial, ops).error).toBeNull();
    expect(firstDifference(await readDirect(device(), 0, 200 * BLOCK), model)).toBe(-1);
  });

  skipWithout('an error reported for a write after one that was not run: that write is run first, then the error is the later write\'s', async () => {
    const { ops, model } = batch();
    const refused: WritesInFlight = {
      writeMany(fd, mem, table, depth, results) {
        results.fill(Number.NaN);
        results[10] = -11; // EAGAIN: not run
        results[20] = -5; // EIO
        for (let i = 0; i < 10; i++) real().writeMany(fd, mem, table.subarray(3 * i, 3 * i + 3), depth, results.subarray(i, i + 1));
      },
      describe: (errno, syscall) => real().describe(errno, syscall),
    };
    const result = runWith(refused, ops);
    expect(result.error).toEqual({ index: 20, code: 'EIO', message: 'EIO: i/o error, write' });
    // Writes 0-19 are done (10-19 one by one); 20 and after are not.
    const expected = Buffer.alloc(200 * BLOCK);
    applyWrites(expected, memory, ops, 20);
    expect(firstDifference(await readDirect(device(), 0, 200 * BLOCK), expected)).toBe(-1);
    expect(model.equals(expected)).toBe(false);
  });
});
