/**
 * A bounded pool of aligned window pairs (data + readback) and the set of window tasks in flight. Memory is
 * fixed at 2 × slots × windowBytes whatever the range sizes; the producer waits for a free slot, so a slow
 * device throttles decompression instead of piling data up in RAM.
 */
import { AlignedSlab } from './aligned-buffers';
import { EngineError } from './errors';

export interface WindowSlot {
  id: number;
  data: Buffer;
  readback: Buffer;
}

export class WindowPool {
  private readonly slots: WindowSlot[];
  private readonly free: number[];
  private readonly waiters: { resolve: (slot: WindowSlot) => void; reject: (err: unknown) => void }[] = [];
  private readonly running = new Set<Promise<void>>();
  /** The first fatal error of any task; later acquisitions throw it. */
  fatal: unknown = null;

  constructor(
    readonly windowBytes: number,
    count: number,
    private readonly signal: AbortSignal,
  ) {
    const slab = new AlignedSlab(windowBytes, count * 2);
    this.slots = Array.from({ length: count }, (_, id) => ({
      id,
      data: slab.slots[id * 2] as Buffer,
      readback: slab.slots[id * 2 + 1] as Buffer,
    }));
    this.free = this.slots.map((s) => s.id);
    this.limit = count;
    // A cancel must not wait for a slot that may never come back: wake every waiter with the error.
    this.cancelled = new Promise<never>((_, reject) => {
      signal.addEventListener(
        'abort',
        () => {
          this.failWaiters();
          reject(new EngineError('CANCELLED', 'cancelled by the user'));
        },
        { once: true },
      );
    });
    this.cancelled.catch(() => undefined);
  }

  /** Rejects every waiting acquire() with the job's error (fatal or cancelled). */
  private failWaiters(): void {
    let err: unknown;
    try {
      this.check();
      return;
    } catch (e) {
      err = e;
    }
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
  }

  private check(): void {
    if (this.fatal) throw this.fatal;
    if (this.signal.aborted) throw new EngineError('CANCELLED', 'cancelled by the user');
  }

  /** Rejects when the job is cancelled (for waits that no slot release would end). */
  private readonly cancelled: Promise<never>;
  /** How many tasks may run at once (at most the slot count): see setLimit. */
  private limit: number;

  /**
   * Bounds the tasks in flight, so that what is in flight can finish in a fraction of a second on a slow
   * card: a cancel then stops promptly instead of waiting for many windows of writes.
   */
  setLimit(tasks: number): void {
    this.limit = Math.max(1, Math.min(this.slots.length, Math.floor(tasks)));
  }

  /** Waits for a free slot; throws when the job is cancelled or a task has failed. */
  async acquire(): Promise<WindowSlot> {
    this.check();
    while (this.running.size >= this.limit) {
      await Promise.race([...this.running, this.cancelled]);
      this.check();
    }
    const id = this.free.pop();
    if (id !== undefined) return this.slots[id] as WindowSlot;
    const slot = await new Promise<WindowSlot>((resolve, reject) => this.waiters.push({ resolve, reject }));
    try {
      this.check();
    } catch (err) {
      this.release(slot);
      throw err;
    }
    return slot;
  }

  /** A free slot now, or null (never waits): for work that is only worth starting early. */
  tryAcquire(): WindowSlot | null {
    this.check();
    const id = this.free.pop();
    return id === undefined ? null : (this.slots[id] as WindowSlot);
  }

  private release(slot: WindowSlot): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(slot);
    else this.free.push(slot.id);
  }

  /** Runs a task on a slot in the background; the slot returns to the pool when it settles. */
  launch(slot: WindowSlot, task: (slot: WindowSlot) => Promise<void>): void {
    const run = task(slot)
      .catch((err: unknown) => {
        this.fatal ??= err;
        this.failWaiters();
      })
      .finally(() => {
        this.running.delete(run);
        this.release(slot);
      });
    this.running.add(run);
  }

  /** Waits until every launched task has settled. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
