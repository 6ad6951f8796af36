/**
 * Counts the bytes that came over the network for one image (every response body, including what a
 * resumed or coalesced request fetched twice or fetched to throw away) and their rate over the last
 * seconds. The engine reads `bytes` and `speed` for progress events and the report.
 */
const WINDOW_MS = 2000;

export class DownloadMeter {
  private total = 0;
  private readonly samples: Array<{ at: number; bytes: number }> = [];
  private readonly startedAt: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.startedAt = now();
  }

  add(bytes: number): void {
    this.total += bytes;
    const at = this.now();
    this.samples.push({ at, bytes });
    while (this.samples.length > 1 && (this.samples[0]?.at ?? at) < at - WINDOW_MS) this.samples.shift();
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.total;
  }

  /** Bytes per second over the last two seconds (since the start when younger); 0 when nothing arrived lately. */
  get speed(): number {
    const at = this.now();
    const recent = this.samples.filter((s) => s.at >= at - WINDOW_MS);
    if (recent.length === 0) return 0;
    const span = Math.max(at - Math.max(at - WINDOW_MS, this.startedAt), 1);
    return Math.round((recent.reduce((n, s) => n + s.bytes, 0) * 1000) / span);
  }
}
