/**
 * One card's stage of the pipeline: takes the shared chunks in order and makes the card hold them. Copy mode
 * writes each chunk (only the blocks that differ with skip-identical), and reads it back from the device only
 * after a flush that covers it — flushes are batched (8–16 MiB, or half a second of writing). Blocks that
 * read back wrong, or failed with a media error, are rewritten and read again after the next flush, up to
 * `retries` passes. After the last flush a final pass reads the start and the end of the image again, and
 * the capacity probe's markers. Verify mode only reads and compares. This stage is the only owner of its
 * card's range book.
 */
import { createHash } from 'node:crypto';
import { EngineError } from '../errors';
import type { Chunk, ChunkPool } from '../chunk/chunk-pool';
import { indexIn } from '../chunk/chunk-pool';
import type { ChunkPlan } from '../chunk/pack-chunks';
import type { ArenaRegion } from '../chunk/shared-arena';
import type { PlannedRange } from '../plan';
import type { CardIo, PlacedSpan } from './card-io';
import type { LaneInput } from './lane-input';
import type { ProgressMeter } from './progress-meter';
import type { PieceOutcome, RangeBook } from './range-book';
import { blockCount, blocksOf, differingSpans, type Span } from './spans';
import { runCapacityProbe, recheckMarkers, type ProbeState } from './probe-run';
import type { CapacityProbeReport } from '../../../shared/report';

const MiB = 1024 * 1024;
/** Unflushed data is flushed and read back after at most this long. */
const MAX_UNFLUSHED_MS = 500;
/**
 * Writes one card may have on their way at once: the next chunk's write is issued while the previous ones
 * are answered (a device thread or the helper runs them in order), so a round trip per chunk does not
 * idle the card. Every one is answered before the flush that must cover them.
 */
const MAX_IN_FLIGHT = 4;
const MIN_BATCH = 4 * MiB;
const MAX_BATCH = 16 * MiB;

export interface CardStageOptions {
  io: CardIo;
  pool: ChunkPool;
  input: LaneInput;
  /** Readback buffers, each as large as a chunk slot. */
  readbackSlots: ArenaRegion[];
  /** Room for the capacity probe's markers. */
  markerRegion: ArenaRegion;
  mode: 'copy' | 'verify';
  readback: boolean;
  retries: number;
  skipIdentical: boolean;
  /** The plan when the capacity probe runs (block devices, image size known), else null. */
  probe: { ranges: PlannedRange[]; imageSize: number } | null;
  blockSize: number;
  book: RangeBook;
  meter: ProgressMeter;
  signal: AbortSignal;
  /** A regular file's final length (known at the start, or once the image was read); null for devices. */
  fileLength: () => number | null;
  /** Fresh copies of chunks for the final pass's repairs; null when the image cannot be read again (stdin). */
  refetch: ((plans: ChunkPlan[]) => AsyncIterable<Chunk>) | null;
  /** Keeps only the descriptors a final pass re-reads, for an image whose size was unknown at the start. */
  trimFinalSet: (descs: FinalDesc[]) => FinalDesc[];
  /** Mapped bytes at the start of the image that the final pass re-reads. */
  firstWindow: number;
  log(level: 'info' | 'warn', message: string): void;
}

/** A chunk the final pass reads again: where it was and the digest of its pieces. */
export interface FinalDesc {
  seq: number;
  plan: ChunkPlan;
  digest: string;
  mapped: number;
}

/** A chunk on this card that is not settled yet. */
interface Held {
  chunk: Chunk;
  /** Spans to read back after the next flush; null = every piece. */
  pending: Span[] | null;
  passes: number;
  rewrites: { span: Span; pass: number }[];
  retried: Span[];
  written: Span[];
  mediaErrors: Span[];
  /** A fresh copy taken by the final pass: its bytes were counted once already. */
  repair: boolean;
}

export interface CardStageResult {
  /** The error that ended this card (null when it ran to its end or was cancelled). */
  error: EngineError | null;
  cancelled: boolean;
  /** True once any byte was written to the card. */
  touched: boolean;
  probe: CapacityProbeReport | null;
  finalPass: { bytes: number; firstBytes: number; lastBytes: number; markers: number; mismatchedBlocks: number } | null;
  timings: { probeMs: number; copyMs: number; finalPassMs: number; finishMs: number };
}

const intersect = (a: Span, b: Span): Span | null => {
  const start = Math.max(a.start, b.start);
  const end = Math.min(a.end, b.end);
  return end > start ? { start, end } : null;
};

export class CardStage {
  private unflushed: Held[] = [];
  private unflushedBytes = 0;
  private oldest = 0;
  private batchBytes = 8 * MiB;
  private readonly finalDescs: FinalDesc[] = [];
  private mapped = 0;
  private probeState: ProbeState | null = null;
  private touched = false;
  private readonly held = new Set<Held>();
  /** Writes issued and not yet answered, oldest first. */
  private inFlight: Promise<void>[] = [];
  /** Chunks (by seq) that settled with blocks that never held: the final pass does not try them again. */
  private readonly failedChunks = new Set<number>();

  constructor(private readonly o: CardStageOptions) {}

  async run(): Promise<CardStageResult> {
    const { o } = this;
    const timings = { probeMs: 0, copyMs: 0, finalPassMs: 0, finishMs: 0 };
    let error: EngineError | null = null;
    let probe: CapacityProbeReport | null = null;
    let finalPass: CardStageResult['finalPass'] = null;
    const copy = o.mode === 'copy';
    let t = performance.now();
    try {
      o.meter.setPhase(copy ? 'writing' : 'verifying');
      // The probe runs when the first chunk is there: an image that turns out empty or damaged at its start
      // leaves the card untouched.
      await this.mainLoop(async () => {
        if (!copy || !o.probe) return;
        const t0 = performance.now();
        o.meter.setPhase('probing');
        this.touched = true;
        this.probeState = await runCapacityProbe(o.io, o.markerRegion, o.probe.ranges, o.probe.imageSize, o.meter, o.skipIdentical);
        probe = this.probeState?.report ?? null;
        timings.probeMs = performance.now() - t0;
        o.meter.setPhase('writing');
      });
      if (copy && o.readback && !o.signal.aborted) {
        while (this.unflushed.length > 0 && !o.signal.aborted) await this.flushAndVerify();
      }
      timings.copyMs = performance.now() - t - timings.probeMs;
      t = performance.now();
      if (copy && o.readback && !o.signal.aborted) {
        o.meter.setPhase('final-check');
        finalPass = await this.finalPass();
        timings.finalPassMs = performance.now() - t;
        t = performance.now();
      }
    } catch (err) {
      error = err instanceof EngineError ? err : new EngineError('INTERNAL', `the card stage failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      // No chunk goes back to the pool while a write of it may still be on its way.
      const drained = await this.drainWrites().then(
        () => null,
        (err: unknown) => (err instanceof EngineError ? err : new EngineError('INTERNAL', String(err))),
      );
      if (drained && !error && !o.signal.aborted) error = drained;
      this.releaseAll();
    }
    if (copy && (this.touched || (!error && !o.signal.aborted))) {
      o.meter.setPhase('flushing');
      const finishError = await this.finish(error);
      error ??= finishError;
      timings.finishMs = performance.now() - t;
    }
    const cancelled = o.signal.aborted && (error === null || error.code === 'CANCELLED');
    if (error || cancelled) o.book.abandonUnfinished();
    if (error?.code === 'CANCELLED') error = null;
    if (error?.code === 'TARGET_COUNTERFEIT' && this.probeState) probe = this.probeState.report;
    return { error, cancelled, touched: this.touched, probe, finalPass, timings };
  }

  /** Takes chunks until the producer ends, flushing and verifying by the batch. */
  private async mainLoop(beforeFirst: () => Promise<void>): Promise<void> {
    const { o } = this;
    let first = true;
    for (;;) {
      if (o.signal.aborted) return;
      const wait = this.unflushed.length > 0 ? MAX_UNFLUSHED_MS - (performance.now() - this.oldest) : Infinity;
      const item = await o.input.next(wait);
      if (o.signal.aborted) {
        if (item.kind === 'chunk') o.pool.release(item.chunk.slot);
        return;
      }
      if (item.kind === 'end') return;
      if (item.kind === 'chunk') {
        if (first) {
          first = false;
          try {
            await beforeFirst();
          } catch (err) {
            o.pool.release(item.chunk.slot);
            throw err;
          }
        }
        if (o.skipIdentical && o.mode === 'copy') {
          // Read-first: the chunks already queued are read in one device batch (as many as there are
          // readback slots), so the card does not sit idle between a read and the next.
          const chunks = [item.chunk];
          while (chunks.length < o.readbackSlots.length && o.input.pending > 0) {
            const more = await o.input.next(0);
            if (more.kind !== 'chunk') break;
            chunks.push(more.chunk);
          }
          await this.takeDiffering(chunks);
        } else await this.take(item.chunk);
      }
      // Memory pressure flushes only once the chunks already handed to this card are written: flushing at
      // every chunk while the producer waits made batches of one chunk (200+ flushes for 515 MiB on tmpfs).
      const due =
        this.unflushedBytes >= this.batchBytes ||
        (this.unflushed.length > 0 && (item.kind === 'idle' || performance.now() - this.oldest >= MAX_UNFLUSHED_MS || (o.pool.starved && o.input.pending === 0)));
      if (due) await this.flushAndVerify();
    }
  }

  private placed(chunk: Chunk, region: ArenaRegion, spans: readonly Span[]): PlacedSpan[] {
    return spans.map((s) => ({ ...s, at: region.at + indexIn(chunk.start, s.start) }));
  }

  private pieceSpans(chunk: Chunk): Span[] {
    return chunk.pieces.map((p) => ({ start: p.offset, end: p.offset + p.length }));
  }

  /** A chunk enters this card: held until settled, its ranges started, kept for the final pass if it is in the set. */
  private enter(chunk: Chunk): Held {
    const { o } = this;
    const h: Held = { chunk, pending: null, passes: 0, rewrites: [], retried: [], written: [], mediaErrors: [], repair: false };
    this.held.add(h);
    for (const p of chunk.pieces) o.book.pieceStarted(p.range, p.lastOfRange);
    const size = chunk.pieces.reduce((n, p) => n + p.length, 0);
    if (chunk.digest && o.mode === 'copy' && o.readback) this.finalDescs.push({ seq: chunk.seq, plan: { start: chunk.start, end: chunk.end, pieces: chunk.pieces }, digest: chunk.digest, mapped: this.mapped });
    this.mapped += size;
    return h;
  }

  /** One chunk in: verify it (verify mode), or write it whole. */
  private async take(chunk: Chunk): Promise<void> {
    const { o } = this;
    const h = this.enter(chunk);
    if (o.mode === 'verify') {
      const bad = await this.compare([h], [null]);
      this.settle(h, bad[0] ?? []);
      return;
    }
    await this.write(h, this.pieceSpans(chunk));
  }

  /** Chunks in with skip-identical: read from the card first; only the blocks that differ are written. */
  private async takeDiffering(chunks: Chunk[]): Promise<void> {
    const group = chunks.map((chunk) => this.enter(chunk));
    const differing = await this.compare(group, group.map(() => null));
    for (const [i, h] of group.entries()) {
      const spans = differing[i] ?? [];
      if (spans.length === 0) {
        this.settle(h, []);
        continue;
      }
      h.pending = spans;
      await this.write(h, spans);
    }
  }

  /** Writes spans of a held chunk; it is read back after the next flush (or settled now without readback). */
  private async write(h: Held, spans: Span[]): Promise<void> {
    const { o } = this;
    const { chunk } = h;
    h.written = spans;
    await this.prepareFile();
    const write = o.io.write(this.placed(chunk, chunk.slot, spans)).then(({ failed }) => void h.mediaErrors.push(...failed));
    if (!o.readback) {
      await write;
      this.settle(h, []);
      return;
    }
    write.catch(() => undefined); // handled where it is awaited
    this.inFlight.push(write);
    if (this.inFlight.length > MAX_IN_FLIGHT) await this.inFlight.shift();
    if (this.unflushed.length === 0) this.oldest = performance.now();
    this.unflushed.push(h);
    this.unflushedBytes += spans.reduce((n, s) => n + s.end - s.start, 0);
  }

  /**
   * Reads each held chunk's spans (null = its whole extent) into the readback slots and returns, per chunk,
   * the block-aligned spans of its pieces that differ from the data, did not read, or read short.
   */
  private async compare(group: Held[], which: (Span[] | null)[]): Promise<Span[][]> {
    const { o } = this;
    const out: Span[][] = [];
    for (let g = 0; g < group.length; g += o.readbackSlots.length) {
      const part = group.slice(g, g + o.readbackSlots.length);
      const reads: PlacedSpan[] = [];
      const owners: number[] = [];
      part.forEach((h, i) => {
        const slot = o.readbackSlots[i] as ArenaRegion;
        const spans = which[g + i] ?? [{ start: h.chunk.start, end: h.chunk.end }];
        for (const s of this.placed(h.chunk, slot, spans)) {
          reads.push(s);
          owners.push(i);
        }
      });
      const result = await o.io.read(reads);
      part.forEach((h, i) => {
        const slot = o.readbackSlots[i] as ArenaRegion;
        const indexOf = (x: number): number => indexIn(h.chunk.start, x);
        const bad: Span[] = [];
        reads.forEach((r, k) => {
          if (owners[k] !== i) return;
          const delivered = result.delivered[k] ?? 0;
          // The parts that failed to read (4 KiB pieces: the blocks, not the span around them) are bad,
          // whatever the slot holds there; the rest was read and is compared.
          const failedParts = result.failedParts[k] ?? [];
          h.mediaErrors.push(...failedParts);
          for (const p of h.chunk.pieces) {
            const piece = { start: p.offset, end: p.offset + p.length };
            const within = intersect(r, piece);
            if (!within) continue;
            const good = intersect(within, { start: r.start, end: r.start + delivered });
            if (good) bad.push(...differingSpans(h.chunk.slot.buf, slot.buf, indexOf, good, o.blockSize));
            const missing = intersect(within, { start: r.start + delivered, end: r.end });
            if (missing) bad.push(this.blockGrown(missing, piece));
            for (const f of failedParts) {
              const lost = intersect(f, piece);
              if (lost) bad.push(this.blockGrown(lost, piece));
            }
          }
        });
        if (bad.length === 0 && reads.length > 0) o.io.rememberReadable(h.chunk.start);
        out.push(mergeSpans(bad));
      });
    }
    return out;
  }

  private blockGrown(span: Span, piece: Span): Span {
    const bs = this.o.blockSize;
    return { start: Math.max(piece.start, Math.floor(span.start / bs) * bs), end: Math.min(piece.end, Math.ceil(span.end / bs) * bs) };
  }

  /** Flushes, then reads back everything written before the flush; what did not hold is rewritten or fails. */
  private async flushAndVerify(): Promise<void> {
    const { o } = this;
    if (this.unflushed.length === 0) return;
    await this.drainWrites();
    const writeSpeed = o.io.stats.writeMs > 0 ? (o.io.stats.bytesWritten * 1000) / o.io.stats.writeMs : 0;
    await o.io.flush();
    const batch = this.unflushed;
    this.unflushed = [];
    this.unflushedBytes = 0;
    if (writeSpeed > 0) this.batchBytes = Math.min(MAX_BATCH, Math.max(MIN_BATCH, writeSpeed * (MAX_UNFLUSHED_MS / 1000)));
    const bad = await this.compare(batch, batch.map((h) => h.pending));
    let rewriting = 0;
    for (let i = 0; i < batch.length; i++) {
      const h = batch[i] as Held;
      const spans = bad[i] ?? [];
      if (spans.length === 0) {
        this.settle(h, []);
        continue;
      }
      // Cancelled: what was not proven stays unproven (its range goes back to pending), not failed.
      if (o.signal.aborted) continue;
      if (h.passes >= o.retries) {
        this.settle(h, spans);
        continue;
      }
      h.passes++;
      if (h.passes === 1) h.retried.push(...spans);
      for (const span of spans) h.rewrites.push({ span, pass: h.passes });
      for (const p of h.chunk.pieces) if (spans.some((s) => intersect(s, { start: p.offset, end: p.offset + p.length }))) o.book.retrying(p.range);
      rewriting += blockCount(spans, o.blockSize);
      const first = h.chunk.pieces.find((p) => spans.some((s) => intersect(s, { start: p.offset, end: p.offset + p.length })));
      o.meter.setActivity({ kind: 'rewriting', blocks: rewriting, range: first ? first.range.index : 0 });
      const { failed } = await o.io.write(this.placed(h.chunk, h.chunk.slot, spans), true, true);
      h.mediaErrors.push(...failed);
      h.pending = spans;
      if (this.unflushed.length === 0) this.oldest = performance.now();
      this.unflushed.push(h);
      this.unflushedBytes += spans.reduce((n, s) => n + s.end - s.start, 0);
    }
    if (rewriting === 0) o.meter.setActivity(null);
  }

  /** Records a chunk's outcome piece by piece and lets go of its slot. */
  private settle(h: Held, bad: Span[]): void {
    const { o } = this;
    const bs = o.blockSize;
    let bytes = 0;
    // A chunk of a fragmented image holds hundreds of pieces: the written spans (ascending, like the pieces)
    // are walked once, and the lists that are usually empty cost nothing.
    let wi = 0;
    const writtenIn = (piece: Span): Span[] => {
      const out: Span[] = [];
      while (wi < h.written.length && (h.written[wi] as Span).end <= piece.start) wi++;
      for (let k = wi; k < h.written.length && (h.written[k] as Span).start < piece.end; k++) {
        const x = intersect(h.written[k] as Span, piece);
        if (x) out.push(x);
      }
      return out;
    };
    for (const p of h.chunk.pieces) {
      const piece = { start: p.offset, end: p.offset + p.length };
      const inPiece = (spans: readonly Span[]): Span[] => (spans.length === 0 ? [] : spans.map((s) => intersect(s, piece)).filter((s): s is Span => s !== null));
      const rewrites = h.rewrites.length === 0 ? [] : h.rewrites.filter((r) => intersect(r.span, piece));
      const written = blockCount(writtenIn(piece), bs);
      const total = blocksOf(piece, bs);
      const outcome: PieceOutcome = {
        bytes: h.repair ? 0 : p.length,
        passes: rewrites.reduce((n, r) => Math.max(n, r.pass), 0),
        rewrittenBlocks: blockCount(inPiece(rewrites.map((r) => r.span)), bs),
        retried: inPiece(h.retried).map((s) => blocksOf(s, bs)),
        bad: inPiece(bad).map((s) => blocksOf(s, bs)),
        writtenBlocks: written,
        skippedBlocks: o.skipIdentical && o.mode === 'copy' ? total.last - total.first + 1 - written : 0,
        mediaErrors: inPiece(h.mediaErrors).length,
      };
      o.book.pieceSettled(p.range, outcome);
      bytes += p.length;
    }
    if (bad.length > 0) this.failedChunks.add(h.chunk.seq);
    if (!h.repair) o.meter.addDone(bytes);
    this.held.delete(h);
    o.pool.release(h.chunk.slot);
  }

  /** Lets go of every chunk this card still holds (it ended, failed or was cancelled). */
  private releaseAll(): void {
    for (const h of this.held) this.o.pool.release(h.chunk.slot);
    this.held.clear();
    this.unflushed = [];
    for (const chunk of this.o.input.close()) this.o.pool.release(chunk.slot);
  }

  /**
   * After the last flush: reads again the chunks kept for it (the start of the image, where a counterfeit
   * card's wrapped writes land, and the end, which a cache may still hold) and the probe's markers; what no
   * longer matches is repaired from a fresh copy of the image, or fails with its blocks named.
   */
  private async finalPass(): Promise<CardStageResult['finalPass']> {
    const { o } = this;
    await o.io.flush();
    const descs = o.trimFinalSet(this.finalDescs).filter((d) => !this.failedChunks.has(d.seq));
    const first = await this.recheck(descs);
    if (first === null) return null;
    const markers = this.probeState ? await recheckMarkers(o.io, o.markerRegion, this.probeState) : 0;
    let bytes = first.bytes;
    let mismatchedBlocks = 0;
    if (first.wrong.length > 0) {
      o.log('warn', `${o.io.target.info.path}: ${first.wrong.length} chunk${first.wrong.length === 1 ? '' : 's'} no longer held the image after the last flush; checking them block by block`);
      mismatchedBlocks = await this.repair(first.wrong, o.retries);
      // A repair must not hide a card that wraps addresses: rewriting one place can break another. Everything
      // is read once more; what is wrong again fails, without another rewrite.
      await o.io.flush();
      const again = await this.recheck(descs.filter((d) => !this.failedChunks.has(d.seq)));
      if (again === null) return null;
      bytes += again.bytes;
      if (again.wrong.length > 0) {
        o.log('warn', `${o.io.target.info.path}: data that was rewritten and read back right was wrong again afterwards: the card loses or misplaces writes (failing, or counterfeit)`);
        mismatchedBlocks += await this.repair(again.wrong, 0);
      }
    }
    o.meter.setActivity(null);
    const firstBytes = sumBytes(descs.filter((d) => d.mapped < o.firstWindow));
    return { bytes, firstBytes, lastBytes: sumBytes(descs) - firstBytes, markers, mismatchedBlocks };
  }

  /** Reads the final set's chunks again and returns those whose digest no longer matches (null: cancelled). */
  private async recheck(descs: FinalDesc[]): Promise<{ wrong: FinalDesc[]; bytes: number } | null> {
    const { o } = this;
    const slots = o.readbackSlots;
    const wrong: FinalDesc[] = [];
    let bytes = 0;
    const total = descs.reduce((n, d) => n + d.plan.end - d.plan.start, 0);
    for (let g = 0; g < descs.length; g += slots.length) {
      if (o.signal.aborted) return null;
      const part = descs.slice(g, g + slots.length);
      const reads = part.map((d, i) => ({ start: d.plan.start, end: d.plan.end, at: (slots[i] as ArenaRegion).at + indexIn(d.plan.start, d.plan.start) }));
      o.meter.setActivity({ kind: 'final-check', bytes: total });
      const result = await o.io.read(reads);
      part.forEach((d, i) => {
        bytes += result.delivered[i] ?? 0;
        const slot = slots[i] as ArenaRegion;
        const hash = createHash('sha1');
        const full = !result.failed[i] && (result.delivered[i] ?? 0) === d.plan.end - d.plan.start;
        if (full) for (const p of d.plan.pieces) hash.update(slot.buf.subarray(indexIn(d.plan.start, p.offset), indexIn(d.plan.start, p.offset) + p.length));
        if (!full || hash.digest('hex') !== d.digest) wrong.push(d);
      });
    }
    return { wrong, bytes };
  }

  /**
   * Re-checks chunks the final pass found wrong against a fresh copy of the image, rewriting what differs (up
   * to `retries` passes; 0 only names the blocks). Returns the blocks found wrong.
   */
  private async repair(wrong: FinalDesc[], retries: number): Promise<number> {
    const { o } = this;
    let found = 0;
    if (!o.refetch) {
      for (const d of wrong) {
        for (const p of d.plan.pieces) {
          o.book.reopen(p.range);
          const bad = [{ start: p.offset, end: p.offset + p.length }];
          found += blockCount(bad, o.blockSize);
          o.book.pieceSettled(p.range, { bytes: 0, passes: 0, rewrittenBlocks: 0, retried: [], bad: bad.map((s) => blocksOf(s, o.blockSize)), writtenBlocks: 0, skippedBlocks: 0, mediaErrors: 0 });
        }
      }
      o.log('warn', 'the image cannot be read a second time (standard input): the blocks are named by the chunk they are in');
      return found;
    }
    const batch: Held[] = [];
    const run = async (): Promise<void> => {
      const bad = await this.compare(batch, batch.map(() => null));
      batch.forEach((h, i) => {
        const spans = bad[i] ?? [];
        found += blockCount(spans, o.blockSize);
        h.pending = spans.length > 0 ? spans : [];
      });
      for (const h of batch) {
        if ((h.pending ?? []).length === 0) {
          this.settle(h, []);
          continue;
        }
        if (retries === 0) {
          this.settle(h, h.pending ?? []);
          continue;
        }
        h.passes = 1;
        h.retried.push(...(h.pending ?? []));
        for (const span of h.pending ?? []) h.rewrites.push({ span, pass: 1 });
        await o.io.write(this.placed(h.chunk, h.chunk.slot, h.pending ?? []));
        this.unflushed.push(h);
      }
      batch.length = 0;
      while (this.unflushed.length > 0 && !o.signal.aborted) await this.flushAndVerify();
    };
    for await (const chunk of o.refetch(wrong.map((d) => d.plan))) {
      const h: Held = { chunk, pending: null, passes: 0, rewrites: [], retried: [], written: [], mediaErrors: [], repair: true };
      this.held.add(h);
      for (const p of chunk.pieces) o.book.reopen(p.range);
      batch.push(h);
      if (batch.length >= o.readbackSlots.length) await run();
    }
    if (batch.length > 0) await run();
    return found;
  }

  /**
   * Before the first write: a regular file is cut to nothing and then to the image size, so unmapped blocks
   * are holes and nothing stale survives (like bmaptool); with skip-identical it only gets the image size.
   */
  private async prepareFile(): Promise<void> {
    if (this.touched) return;
    this.touched = true;
    const { o } = this;
    if (o.io.target.info.kind !== 'file') return;
    if (!o.skipIdentical) await o.io.truncate(0);
    const length = o.fileLength();
    if (length !== null) await o.io.truncate(length);
  }

  /** Waits for every write on its way; throws the first one's error (the others are still waited for). */
  private async drainWrites(): Promise<void> {
    let first: unknown = null;
    while (this.inFlight.length > 0) {
      await (this.inFlight.shift() as Promise<void>).catch((err: unknown) => void (first ??= err));
    }
    if (first !== null) throw first;
  }

  /** The card's end: a regular file gets its final length; everything written is flushed. */
  private async finish(error: EngineError | null): Promise<EngineError | null> {
    const { o } = this;
    if (o.io.target.stalled) return null;
    try {
      const length = o.fileLength();
      if (o.io.target.info.kind === 'file' && length !== null && (this.touched || !error)) await o.io.truncate(length);
      await o.io.flush();
      return null;
    } catch (err) {
      return err instanceof EngineError ? err : new EngineError('WRITE_FAILED', `flush of ${o.io.target.info.path} failed: ${String(err)}`);
    }
  }
}

function sumBytes(descs: readonly FinalDesc[]): number {
  return descs.reduce((n, d) => n + d.plan.pieces.reduce((m, p) => m + p.length, 0), 0);
}

/** Sorts and merges byte spans. */
function mergeSpans(spans: Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  const out: Span[] = [];
  for (const s of sorted) {
    const prev = out[out.length - 1];
    if (prev && s.start <= prev.end) prev.end = Math.max(prev.end, s.end);
    else out.push({ ...s });
  }
  return out;
}
