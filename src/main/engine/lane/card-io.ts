/**
 * A card's block I/O as the card stage needs it: write spans of a chunk, read spans into a readback slot,
 * flush — each op timed, each failure classified. A media error does not throw: it comes back as the spans
 * that failed, so the caller can rewrite them like blocks that read back wrong. A span whose read failed (or
 * whose rewrite failed) is tried again 4 KiB at a time, so what comes back is the blocks that fail, not the
 * whole span around them.
 */
import { EngineError } from '../errors';
import type { Target } from '../device/device-client';
import type { DeviceOp } from '../device/device-protocol';
import type { ArenaRegion } from '../chunk/shared-arena';
import { classifyDeviceError } from './device-errors';
import type { Span } from './spans';

/** Where one span's bytes are in the shared memory. */
export interface PlacedSpan extends Span {
  at: number;
}

export interface IoStats {
  bytesWritten: number;
  bytesReadBack: number;
  flushes: number;
  writeMs: number;
  readMs: number;
  flushMs: number;
}

export interface ReadOutcome {
  /** Bytes delivered per span (fewer than asked: the device ended; a failed span's good parts are delivered). */
  delivered: number[];
  /** Spans part of which failed to read with a media error. */
  failed: boolean[];
  /** Per span, the parts whose read failed (4 KiB pieces, adjacent ones merged; the whole span when the error did not come back); empty when it read. */
  failedParts: Span[][];
  mediaErrors: number;
}

/** The pieces a failed span is tried again in, to name the blocks that fail. */
const PIECE = 4096;
/** Failing pieces after which the rest of a span is given up as failed (a dying card answers slowly). */
const MAX_FAILING_PIECES = 16;

export class CardIo {
  readonly stats: IoStats = { bytesWritten: 0, bytesReadBack: 0, flushes: 0, writeMs: 0, readMs: 0, flushMs: 0 };
  /** A block known to read back (set once anything was verified), for telling a media error from a dead card. */
  private known: { offset: number } | null = null;
  /** Writes on their way, and since when one has been (writeMs counts time with a write outstanding). */
  private writesOpen = 0;
  private writingSince = 0;

  constructor(
    readonly target: Target,
    /** A page of the arena for the "is the card still there" read. */
    private readonly probeRegion: ArenaRegion,
  ) {}

  rememberReadable(offset: number): void {
    this.known ??= { offset: Math.floor(offset / 4096) * 4096 };
  }

  /** True when the card still answers a read of a block it answered before (or of its first block). */
  private readonly stillReadable = async (): Promise<boolean> => {
    const info = this.target.info;
    const offset = this.known?.offset ?? 0;
    const length = Math.min(4096, info.size ?? 4096);
    try {
      const result = await this.target.run([{ op: 'read', offset, length, at: this.probeRegion.at }], 'read');
      return result.error === null;
    } catch {
      return false;
    }
  };

  /**
   * Writes spans; returns the ones that failed with a media error (the rest are written). `image` false: not
   * image data (the capacity probe's markers), so not counted as bytes written. `isolate` (rewrites): a span
   * that fails is written again 4 KiB at a time and only the pieces that still fail come back, so a dead
   * block does not keep the blocks around it from being written; a first write's failed span is left to the
   * readback and a rewrite like a block that read back wrong.
   */
  async write(spans: readonly PlacedSpan[], image = true, isolate = false): Promise<{ failed: Span[]; mediaErrors: number }> {
    const failed: Span[] = [];
    let mediaErrors = 0;
    let from = 0;
    while (from < spans.length) {
      const ops: DeviceOp[] = spans.slice(from).map((s) => ({ op: 'write', offset: s.start, length: s.end - s.start, at: s.at }));
      if (this.writesOpen++ === 0) this.writingSince = performance.now();
      let result;
      try {
        result = await this.target.run(ops, 'write');
      } finally {
        if (--this.writesOpen === 0) this.stats.writeMs += performance.now() - this.writingSince;
      }
      const done = result.error ? result.error.index : ops.length;
      if (image) for (let i = 0; i < done; i++) this.stats.bytesWritten += (ops[i] as { length: number }).length;
      if (!result.error) break;
      const fault = await classifyDeviceError(this.target.info, result.error, 'write', this.stillReadable);
      if (fault.kind === 'fatal') throw fault.error;
      mediaErrors++;
      const span = spans[from + result.error.index] as PlacedSpan;
      failed.push(...(isolate ? await this.isolate(span, 'write', image) : [{ start: span.start, end: span.end }]));
      from += result.error.index + 1;
    }
    return { failed, mediaErrors };
  }

  /**
   * Tries a span that failed again in 4 KiB pieces; returns the parts that still fail (merged), the rest
   * written or read into place. A card that fails more than MAX_FAILING_PIECES pieces has the rest of the
   * span counted failed without trying it. When every piece went through (the error did not come back), the
   * whole span is returned: it failed once, so it is rewritten and read back again like any failed span.
   */
  private async isolate(span: PlacedSpan, kind: 'write' | 'read', image: boolean): Promise<Span[]> {
    const pieces: PlacedSpan[] = [];
    for (let s = span.start; s < span.end; ) {
      const e = Math.min(span.end, (Math.floor(s / PIECE) + 1) * PIECE);
      pieces.push({ start: s, end: e, at: span.at + (s - span.start) });
      s = e;
    }
    if (pieces.length === 1) return [{ start: span.start, end: span.end }];
    const failed: Span[] = [];
    const fail = (s: Span): void => {
      const last = failed[failed.length - 1];
      if (last && last.end === s.start) last.end = s.end;
      else failed.push({ start: s.start, end: s.end });
    };
    let from = 0;
    let failures = 0;
    while (from < pieces.length) {
      if (failures >= MAX_FAILING_PIECES) {
        fail({ start: (pieces[from] as Span).start, end: span.end });
        break;
      }
      const ops: DeviceOp[] = pieces.slice(from).map((p) => ({ op: kind, offset: p.start, length: p.end - p.start, at: p.at }));
      const t0 = performance.now();
      const result = await this.target.run(ops, kind);
      if (kind === 'read') {
        this.stats.readMs += performance.now() - t0;
        result.reads.forEach((n, i) => {
          this.stats.bytesReadBack += n;
          const piece = pieces[from + i] as Span;
          if (n < piece.end - piece.start) fail({ start: piece.start + n, end: piece.end }); // the device ended here
        });
      } else {
        this.stats.writeMs += performance.now() - t0;
        const done = result.error ? result.error.index : ops.length;
        if (image) for (let i = 0; i < done; i++) this.stats.bytesWritten += (ops[i] as { length: number }).length;
      }
      if (!result.error) break;
      const fault = await classifyDeviceError(this.target.info, result.error, kind, this.stillReadable);
      if (fault.kind === 'fatal') throw fault.error;
      failures++;
      fail(pieces[from + result.error.index] as Span);
      from += result.error.index + 1;
    }
    return failed.length > 0 ? failed : [{ start: span.start, end: span.end }];
  }

  /** Reads spans into their places; short or failed reads are reported per span, never filled in. */
  async read(spans: readonly PlacedSpan[]): Promise<ReadOutcome> {
    const delivered = new Array<number>(spans.length).fill(0);
    const failed = new Array<boolean>(spans.length).fill(false);
    const failedParts: Span[][] = spans.map(() => []);
    let mediaErrors = 0;
    let from = 0;
    while (from < spans.length) {
      const ops: DeviceOp[] = spans.slice(from).map((s) => ({ op: 'read', offset: s.start, length: s.end - s.start, at: s.at }));
      const t0 = performance.now();
      const result = await this.target.run(ops, 'read');
      this.stats.readMs += performance.now() - t0;
      result.reads.forEach((n, i) => {
        delivered[from + i] = n;
        this.stats.bytesReadBack += n;
      });
      if (!result.error) break;
      const fault = await classifyDeviceError(this.target.info, result.error, 'read', this.stillReadable);
      if (fault.kind === 'fatal') throw fault.error;
      mediaErrors++;
      const k = from + result.error.index;
      const span = spans[k] as PlacedSpan;
      const parts = await this.isolate(span, 'read', true);
      // What did not fail is in place now; a device end inside the span is a failed part too.
      failedParts[k] = parts;
      failed[k] = true;
      delivered[k] = span.end - span.start;
      from = k + 1;
    }
    return { delivered, failed, failedParts, mediaErrors };
  }

  async flush(): Promise<void> {
    const t0 = performance.now();
    const result = await this.target.run([{ op: 'flush' }], 'flush');
    this.stats.flushMs += performance.now() - t0;
    this.stats.flushes++;
    if (!result.error) return;
    const fault = await classifyDeviceError(this.target.info, result.error, 'flush', this.stillReadable);
    // A flush that fails on a card that is still there is still a failed flush: nothing after it is proven.
    throw fault.kind === 'fatal' ? fault.error : new EngineError('WRITE_FAILED', `${this.target.info.path} could not flush its cache (${result.error.code}): what was written is not known to be on the card`);
  }

  async truncate(length: number): Promise<void> {
    const result = await this.target.run([{ op: 'truncate', length }], 'truncate');
    if (result.error) throw new EngineError('WRITE_FAILED', `could not set the length of ${this.target.info.path}: ${result.error.message}`);
  }
}
