/**
 * A fixed pool of chunk slots in the shared arena, and the chunk objects the pipeline passes around. A chunk
 * is one slot holding a contiguous stretch of the image with one or more pieces of ranges in it; every card
 * that receives it holds a reference until it has verified (or given up on) its pieces. Memory is bounded by
 * the pool whatever the range sizes: when every slot is taken the producer waits, and cards holding
 * unflushed chunks are told (pressure) so they flush and verify instead of waiting for more.
 */
import { EngineError } from '../errors';
import type { PlannedRange } from '../plan';
import { PAGE, type ArenaRegion, type SharedArena } from './shared-arena';

/** Part of one range inside a chunk. */
export interface Piece {
  range: PlannedRange;
  /** Image offset of the piece's first byte and its length. */
  offset: number;
  length: number;
  /** True for the last piece of its range. */
  lastOfRange: boolean;
}

export interface ChunkSlot extends ArenaRegion {
  id: number;
}

export interface Chunk {
  /** Position in the job's order of chunks (0, 1, 2, ...). */
  seq: number;
  slot: ChunkSlot;
  /** Image offset held at `slot.buf[lead]`; every piece lies in [start, end). */
  start: number;
  end: number;
  pieces: Piece[];
  /** SHA-1 of the pieces' bytes, kept for the final pass; null when this chunk is not re-read at the end. */
  digest: string | null;
  /** True when a piece's range checksum was not proven yet when the chunk was handed on (ranges too big to hold). */
  provisional: boolean;
}

/** Where image offset `offset` of a chunk sits in its slot (same alignment as on the device). */
export const leadOf = (start: number): number => start % PAGE;
/** Index in the slot of image offset `offset` for a chunk starting at `start`. */
export const indexIn = (start: number, offset: number): number => leadOf(start) + (offset - start);

export class ChunkPool {
  private readonly slots: ChunkSlot[];
  private readonly free: number[];
  private readonly refs = new Map<number, number>();
  private readonly waiters: { resolve: (slot: ChunkSlot) => void; reject: (err: unknown) => void }[] = [];
  private readonly pressureListeners = new Set<() => void>();
  private failure: unknown = null;

  constructor(
    arena: SharedArena,
    count: number,
    /** Most image bytes one chunk holds. */
    readonly chunkBytes: number,
  ) {
    this.slots = Array.from({ length: count }, (_, id) => ({ id, ...arena.alloc(chunkBytes + PAGE) }));
    this.free = this.slots.map((s) => s.id).reverse();
  }

  get size(): number {
    return this.slots.length;
  }

  /** True while the producer waits for a slot. */
  get starved(): boolean {
    return this.waiters.length > 0;
  }

  /** Waits for a free slot; the caller holds one reference. */
  async acquire(): Promise<ChunkSlot> {
    if (this.failure) throw this.failure;
    const id = this.free.pop();
    if (id !== undefined) {
      this.refs.set(id, 1);
      return this.slots[id] as ChunkSlot;
    }
    const slot = new Promise<ChunkSlot>((resolve, reject) => this.waiters.push({ resolve, reject }));
    for (const listener of this.pressureListeners) listener();
    return slot;
  }

  /** Adds references (one per card a chunk is handed to). */
  retain(slot: ChunkSlot, count = 1): void {
    this.refs.set(slot.id, (this.refs.get(slot.id) ?? 0) + count);
  }

  /** Drops one reference; the slot is free again when none is left. */
  release(slot: ChunkSlot): void {
    const left = (this.refs.get(slot.id) ?? 0) - 1;
    if (left > 0) {
      this.refs.set(slot.id, left);
      return;
    }
    this.refs.delete(slot.id);
    const waiter = this.waiters.shift();
    if (waiter) {
      this.refs.set(slot.id, 1);
      waiter.resolve(slot);
    } else this.free.push(slot.id);
  }

  /** Called whenever the producer starts waiting for a slot. */
  onPressure(listener: () => void): () => void {
    this.pressureListeners.add(listener);
    return () => void this.pressureListeners.delete(listener);
  }

  /** Ends every wait with `err` (cancel, or a fatal error); later acquisitions throw it. */
  fail(err: unknown): void {
    this.failure ??= err;
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
  }
}

/** The error a cancelled job's waits end with. */
export const cancelledError = (): EngineError => new EngineError('CANCELLED', 'cancelled by the user');
