/**
 * One card's progress events: throttled to about 6 a second (at once on a phase change), with the range
 * changes gathered since the last one, a speed over the last few seconds and the time left.
 */
import type { FlashActivity, FlashProgress, Phase } from '../../../shared/report';
import type { RangeBook } from './range-book';

export const PROGRESS_INTERVAL_MS = 160;

export class ProgressMeter {
  phase: Phase = 'preparing';
  bytesDone = 0;
  bytesTotal = 0;
  activity: FlashActivity | null = null;
  private lastEmit = 0;
  private samples: { t: number; bytes: number }[] = [];

  constructor(
    private readonly book: RangeBook,
    private readonly emit: (progress: FlashProgress) => void,
    private readonly now: () => number = Date.now,
  ) {}

  setPhase(phase: Phase): void {
    if (phase === this.phase) return;
    this.phase = phase;
    this.send(true);
  }

  setActivity(activity: FlashActivity | null): void {
    const changed = JSON.stringify(activity) !== JSON.stringify(this.activity);
    this.activity = activity;
    if (changed) this.send(true);
  }

  addDone(bytes: number): void {
    this.bytesDone += bytes;
    this.send(false);
  }

  /** Sends an event when due (or now when forced). */
  send(force: boolean): void {
    const t = this.now();
    if (!force && t - this.lastEmit < PROGRESS_INTERVAL_MS) return;
    this.lastEmit = t;
    const speed = this.speed(t);
    const left = Math.max(0, this.bytesTotal - this.bytesDone);
    this.emit({
      phase: this.phase,
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      speed,
      etaSeconds: speed > 0 && this.bytesTotal > 0 ? Math.round(left / speed) : null,
      retries: this.book.totalRetries,
      activity: this.activity,
      rangeChanges: this.book.takeChanges(),
    });
  }

  /** Bytes per second over the last ~3 s. */
  private speed(t: number): number {
    this.samples.push({ t, bytes: this.bytesDone });
    while (this.samples.length > 2 && t - (this.samples[0]?.t ?? t) > 3000) this.samples.shift();
    const first = this.samples[0];
    if (!first || t - first.t < 200) return 0;
    return ((this.bytesDone - first.bytes) * 1000) / (t - first.t);
  }
}
