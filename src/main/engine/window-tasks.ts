/**
 * What happens to one window: write it, read it back from the device (O_DIRECT, its own handle), compare
 * block by block, and rewrite only the blocks that did not hold, up to `retries` passes. The data stays in
 * its window until it is verified, so a retry never needs the source again and memory stays bounded.
 */
import type { BlockSpan } from '../../shared/report';
import { alignDown, ALIGNMENT } from './aligned-buffers';
import type { JobState } from './job-state';
import type { Target } from './target';
import type { FilledWindow } from './window-producer';
import type { WindowSlot } from './window-pool';

/** Byte spans [start, end) relative to a window. */
type Span = { start: number; end: number };

export interface WindowTaskContext {
  target: Target;
  state: JobState;
  blockSize: number;
  retries: number;
  signal: AbortSignal;
  /**
   * Called when a window of a range settles: ok false when blocks never held, null when the job was
   * cancelled before the window could be read back (it then proves nothing either way).
   */
  onWindowDone(window: FilledWindow, ok: boolean | null): void;
}

async function timed<T>(ctx: WindowTaskContext, key: 'write' | 'readback', op: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await op();
  } finally {
    ctx.state.opMs[key] += performance.now() - t0;
  }
}

/** Writes data at offset; an unaligned tail (the image's last partial sector) goes through read-modify-write. */
async function writeSpan(ctx: WindowTaskContext, data: Buffer, offset: number): Promise<void> {
  const { target } = ctx;
  const aligned = target.direct ? alignDown(data.length, ALIGNMENT) : data.length;
  await timed(ctx, 'write', async () => {
    if (aligned > 0) await target.write(data.subarray(0, aligned), offset);
    if (aligned < data.length) await target.writeTail(data.subarray(aligned), offset + aligned);
  });
  ctx.state.bytesWritten += data.length;
}

/** Reads length bytes at offset into out (aligned part directly, tail via a sector read). */
async function readSpan(ctx: WindowTaskContext, out: Buffer, offset: number, length: number): Promise<void> {
  const { target } = ctx;
  const aligned = target.direct ? alignDown(length, ALIGNMENT) : length;
  await timed(ctx, 'readback', async () => {
    if (aligned > 0) {
      const got = await target.read(out.subarray(0, aligned), offset);
      if (got < aligned) out.fill(0, got, aligned);
    }
    if (aligned < length) (await target.readTail(length - aligned, offset + aligned)).copy(out, aligned);
  });
  ctx.state.bytesReadBack += length;
}

/** Blocks (as byte spans of the window) where expected and actual differ, adjacent ones merged. */
export function differingSpans(expected: Buffer, actual: Buffer, blockSize: number, within: Span[]): Span[] {
  const out: Span[] = [];
  for (const { start, end } of within) {
    if (expected.subarray(start, end).equals(actual.subarray(start, end))) continue;
    for (let b = start; b < end; b += blockSize) {
      const e = Math.min(b + blockSize, end);
      if (expected.subarray(b, e).equals(actual.subarray(b, e))) continue;
      const prev = out[out.length - 1];
      if (prev && prev.end === b) prev.end = e;
      else out.push({ start: b, end: e });
    }
  }
  return out;
}

async function readAndCompare(ctx: WindowTaskContext, slot: WindowSlot, w: FilledWindow, spans: Span[]): Promise<Span[]> {
  for (const s of spans) await readSpan(ctx, slot.readback.subarray(s.start, s.end), w.offset + s.start, s.end - s.start);
  return differingSpans(slot.data, slot.readback, ctx.blockSize, spans);
}

function blocksIn(spans: Span[], blockSize: number): number {
  return spans.reduce((n, s) => n + Math.ceil((s.end - s.start) / blockSize), 0);
}

function toBlockSpans(spans: Span[], w: FilledWindow, blockSize: number): BlockSpan[] {
  return spans.map((s) => ({
    first: Math.floor((w.offset + s.start) / blockSize),
    last: Math.ceil((w.offset + s.end) / blockSize) - 1,
  }));
}

/** Copy mode: write, then (with readback) verify and retry. */
export async function copyWindow(ctx: WindowTaskContext, slot: WindowSlot, w: FilledWindow, readback: boolean): Promise<void> {
  const data = slot.data.subarray(0, w.length);
  await writeSpan(ctx, data, w.offset);
  if (!readback) {
    ctx.onWindowDone(w, true);
    return;
  }
  if (ctx.signal.aborted) {
    ctx.onWindowDone(w, null); // stop promptly: the write is done, its readback is not worth the wait
    return;
  }
  let bad = await readAndCompare(ctx, slot, w, [{ start: 0, end: w.length }]);
  let passes = 0;
  while (bad.length > 0 && passes < ctx.retries && !ctx.signal.aborted) {
    passes++;
    ctx.state.addRetry(w.range.index, blocksIn(bad, ctx.blockSize));
    for (const s of bad) await writeSpan(ctx, data.subarray(s.start, s.end), w.offset + s.start);
    bad = await readAndCompare(ctx, slot, w, bad);
  }
  if (bad.length > 0) ctx.state.markBad(w.range.index, toBlockSpans(bad, w, ctx.blockSize));
  ctx.onWindowDone(w, bad.length === 0);
}

/** Verify mode without checksums: compare the device with the image window. */
export async function compareWindow(ctx: WindowTaskContext, slot: WindowSlot, w: FilledWindow): Promise<void> {
  const bad = await readAndCompare(ctx, slot, w, [{ start: 0, end: w.length }]);
  if (bad.length > 0) ctx.state.markBad(w.range.index, toBlockSpans(bad, w, ctx.blockSize));
  ctx.onWindowDone(w, bad.length === 0);
}
