/**
 * The queue between the producer and one card: chunks in order, then the end (or the producer's failure).
 * `next` also returns when the card should stop waiting — the time limit for unflushed data ran out, or
 * the pool is short of memory — so the card flushes and verifies what it holds instead of sitting on it.
 */
import type { Chunk } from '../chunk/chunk-pool';

export type LaneItem = { kind: 'chunk'; chunk: Chunk } | { kind: 'idle' } | { kind: 'end' };

export class LaneInput {
  private readonly queue: Chunk[] = [];
  private ended = false;
  /** Closed by the card when it stops taking chunks (ended, failed, cancelled): none may be queued after. */
  closed = false;
  private waiter: ((item: LaneItem) => void) | null = null;
  private timer: NodeJS.Timeout | null = null;

  push(chunk: Chunk): void {
    if (this.closed) throw new Error('a chunk was handed to a card that stopped taking them');
    if (this.waiter) this.resolve({ kind: 'chunk', chunk });
    else this.queue.push(chunk);
  }

  end(): void {
    this.ended = true;
    if (this.waiter && this.queue.length === 0) this.resolve({ kind: 'end' });
  }

  /** Wakes a waiting card (memory pressure, cancel). */
  wake(): void {
    if (this.waiter) this.resolve({ kind: 'idle' });
  }

  /** Closes the queue and returns the chunks still in it (handed to this card, not taken). */
  close(): Chunk[] {
    this.closed = true;
    return this.queue.splice(0);
  }

  get pending(): number {
    return this.queue.length;
  }

  /** The next chunk, the end, or idle after `waitMs` (Infinity waits for one of the first two). */
  next(waitMs: number): Promise<LaneItem> {
    const chunk = this.queue.shift();
    if (chunk) return Promise.resolve({ kind: 'chunk', chunk });
    if (this.ended) return Promise.resolve({ kind: 'end' });
    return new Promise((resolve) => {
      this.waiter = resolve;
      if (Number.isFinite(waitMs)) this.timer = setTimeout(() => this.resolve({ kind: 'idle' }), Math.max(0, waitMs));
    });
  }

  private resolve(item: LaneItem): void {
    const waiter = this.waiter;
    this.waiter = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    waiter?.(item);
  }
}
