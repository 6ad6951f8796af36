/**
 * Bookkeeping of one job: per-range state, retry counts and byte totals, throttled progress events
 * (about 6 a second, immediately on phase changes) and the figures the report is built from.
 */
import type { BlockSpan, FlashProgress, Phase, RangeChange, RangeReport, RangeState } from '../../shared/report';
import type { PlannedRange } from './plan';

export const PROGRESS_INTERVAL_MS = 160;

interface RangeRuntime {
  planned: PlannedRange;
  state: RangeState;
  retries: number;
  rewrittenBlocks: number;
  badBlocks: BlockSpan[];
}

export class JobState {
  readonly ranges: RangeRuntime[] = [];
  phase: Phase = 'preparing';
  bytesDone = 0;
  bytesTotal = 0;
  bytesWritten = 0;
  bytesReadBack = 0;
  private changes: RangeChange[] = [];
  private lastEmit = 0;
  private copyStartedAt = 0;
  private samples: { t: number; bytes: number }[] = [];
  readonly phaseMs: Record<'preparing' | 'copy' | 'flush', number> = { preparing: 0, copy: 0, flush: 0 };
  readonly opMs = { source: 0, write: 0, readback: 0 };

  constructor(
    ranges: PlannedRange[],
    private readonly emit: (progress: FlashProgress) => void,
    private readonly now: () => number = Date.now,
    /** When the job started (before its pre-checks), for the preparing time. */
    private readonly startedAt: number = now(),
  ) {
    for (const r of ranges) this.addRange(r);
  }

  addRange(planned: PlannedRange): void {
    this.ranges.push({ planned, state: 'pending', retries: 0, rewrittenBlocks: 0, badBlocks: [] });
    this.bytesTotal += planned.end - planned.start;
  }

  /** Grows the last range of an unknown-size image (pseudo-ranges discovered while streaming). */
  setRangeEnd(index: number, end: number, blockSize: number): void {
    const r = this.ranges[index];
    if (!r) return;
    this.bytesTotal += end - r.planned.end;
    r.planned.end = end;
    r.planned.last = Math.ceil(end / blockSize) - 1;
  }

  setPhase(phase: Phase): void {
    if (phase === this.phase) return;
    const t = this.now();
    if (this.phase === 'preparing') {
      this.phaseMs.preparing = t - this.startedAt;
      this.copyStartedAt = t;
    }
    if (phase === 'flushing') this.phaseMs.copy = t - this.copyStartedAt;
    this.phase = phase;
    this.flush(true);
  }

  setRangeState(index: number, state: RangeState): void {
    const r = this.ranges[index];
    if (!r || r.state === state) return;
    r.state = state;
    this.changes.push({ index, state, retries: r.retries });
    this.flush(false);
  }

  rangeState(index: number): RangeState | undefined {
    return this.ranges[index]?.state;
  }

  addRetry(index: number, blocks: number): void {
    const r = this.ranges[index];
    if (!r) return;
    r.retries++;
    r.rewrittenBlocks += blocks;
    this.changes.push({ index, state: 'retrying', retries: r.retries });
    r.state = 'retrying';
    this.flush(false);
  }

  markBad(index: number, spans: BlockSpan[]): void {
    this.ranges[index]?.badBlocks.push(...spans);
  }

  addDone(bytes: number): void {
    this.bytesDone += bytes;
    this.flush(false);
  }

  get totalRetries(): number {
    return this.ranges.reduce((n, r) => n + r.retries, 0);
  }

  /** Sends a progress event when due (or now when forced), with the range changes gathered since. */
  flush(force: boolean): void {
    const t = this.now();
    if (!force && t - this.lastEmit < PROGRESS_INTERVAL_MS) return;
    this.lastEmit = t;
    const speed = this.speed(t);
    const left = this.bytesTotal - this.bytesDone;
    this.emit({
      phase: this.phase,
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      speed,
      etaSeconds: speed > 0 && this.bytesTotal > 0 ? Math.max(0, Math.round(left / speed)) : null,
      retries: this.totalRetries,
      rangeChanges: this.changes,
    });
    this.changes = [];
  }

  /** Bytes per second over the last ~3 s. */
  private speed(t: number): number {
    this.samples.push({ t, bytes: this.bytesDone });
    while (this.samples.length > 2 && t - (this.samples[0]?.t ?? t) > 3000) this.samples.shift();
    const first = this.samples[0];
    if (!first || t - first.t < 200) return 0;
    return ((this.bytesDone - first.bytes) * 1000) / (t - first.t);
  }

  finishTimings(): { preparingMs: number; copyMs: number; flushMs: number; totalMs: number } {
    const t = this.now();
    if (this.copyStartedAt === 0) this.phaseMs.preparing = t - this.startedAt;
    else if (this.phase === 'flushing') this.phaseMs.flush = t - this.copyStartedAt - this.phaseMs.copy;
    else this.phaseMs.copy = t - this.copyStartedAt;
    return { preparingMs: this.phaseMs.preparing, copyMs: this.phaseMs.copy, flushMs: this.phaseMs.flush, totalMs: t - this.startedAt };
  }

  /** A job that stopped early: ranges caught mid-write were not verified, so they go back to pending. */
  abandonUnfinished(): void {
    for (const r of this.ranges) if (r.state === 'writing' || r.state === 'retrying') r.state = 'pending';
  }

  rangeReports(): RangeReport[] {
    return this.ranges.map((r) => ({
      index: r.planned.index,
      first: r.planned.first,
      last: r.planned.last,
      bytes: r.planned.end - r.planned.start,
      retries: r.retries,
      rewrittenBlocks: r.rewrittenBlocks,
      state: r.state,
      // Windows finish in any order: name the bad blocks in ascending order.
      ...(r.badBlocks.length > 0 ? { badBlocks: [...r.badBlocks].sort((a, b) => a.first - b.first) } : {}),
    }));
  }
}
