/**
 * Random access into a remote raw image for the engine's `readAt`, fetching only the spans it will ask for
 * (the bmap's mapped ranges): close spans are merged (a small gap costs less than another request), the
 * result is cut into chunks, and a few chunks are fetched ahead in parallel, each with its own Range
 * request, so a window is usually in memory when the engine asks. Memory stays bounded: at most
 * `concurrency` chunks are held, and a chunk is dropped once every read has moved past it. A read outside
 * the plan (or of a chunk already dropped) is fetched on its own.
 */
import type { RemoteFile } from './remote-file';

export interface Span {
  start: number;
  end: number;
}

export interface PrefetchOptions {
  /** Chunks fetched at once (default 4). */
  concurrency?: number;
  /** Largest chunk (default 4 MiB). */
  chunkBytes?: number;
  /** Spans closer than this are fetched as one, gap included (default 64 KiB). */
  gapBytes?: number;
}

/** Sorted, merged spans (gaps below `gapBytes` included), cut into chunks of at most `chunkBytes`. */
export function planChunks(spans: readonly Span[], gapBytes: number, chunkBytes: number): Span[] {
  const sorted = spans.filter((s) => s.end > s.start).sort((a, b) => a.start - b.start);
  const merged: Span[] = [];
  for (const span of sorted) {
    const last = merged[merged.length - 1];
    if (last && span.start - last.end <= gapBytes) last.end = Math.max(last.end, span.end);
    else merged.push({ ...span });
  }
  const chunks: Span[] = [];
  for (const span of merged) {
    for (let start = span.start; start < span.end; start += chunkBytes) chunks.push({ start, end: Math.min(span.end, start + chunkBytes) });
  }
  return chunks;
}

interface Chunk extends Span {
  data: Buffer | null;
  filled: number;
  error: unknown;
  done: boolean;
  waiters: Array<() => void>;
  abort: AbortController;
}

export class RangePrefetcher {
  private readonly chunks: Chunk[];
  private readonly concurrency: number;
  /** Index of the first chunk still held (or not yet started); everything before it was dropped. */
  private low = 0;
  /** Index of the next chunk to start. */
  private next = 0;
  private readonly pending = new Map<number, number>();
  private readId = 0;
  private closed = false;

  constructor(
    private readonly file: RemoteFile,
    spans: readonly Span[],
    options: PrefetchOptions = {},
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.chunks = planChunks(spans, options.gapBytes ?? 64 * 1024, options.chunkBytes ?? 4 * 1024 * 1024).map((s) => ({
      ...s,
      data: null,
      filled: 0,
      error: null,
      done: false,
      waiters: [],
      abort: new AbortController(),
    }));
  }

  /** Bytes the plan fetches from the image (mapped bytes plus the gaps merged in). */
  get plannedBytes(): number {
    return this.chunks.reduce((n, c) => n + c.end - c.start, 0);
  }

  /** Fills `buf` from image `offset`; returns the bytes read (fewer at the end of the file). */
  readAt = async (buf: Uint8Array, offset: number): Promise<number> => {
    const size = this.file.size;
    const length = size === null ? buf.byteLength : Math.max(0, Math.min(buf.byteLength, size - offset));
    const id = this.readId++;
    this.pending.set(id, offset);
    try {
      let pos = offset;
      while (pos < offset + length) {
        const index = this.chunkAt(pos);
        const chunk = index === null ? null : this.chunks[index];
        if (index === null || !chunk || index < this.low) {
          // Outside the plan, or dropped already: fetch just this piece.
          const stop = chunk && index !== null && index >= this.low ? chunk.start : offset + length;
          pos += await this.direct(buf, pos - offset, pos, Math.min(stop, offset + length));
          continue;
        }
        this.start(index);
        const want = Math.min(chunk.end, offset + length);
        await this.until(chunk, want - chunk.start);
        if (!chunk.data) throw new Error('prefetched chunk was dropped while read');
        buf.set(chunk.data.subarray(pos - chunk.start, want - chunk.start), pos - offset);
        pos = want;
      }
      return length;
    } finally {
      this.pending.delete(id);
      this.release(offset + length);
    }
  };

  async close(): Promise<void> {
    this.closed = true;
    for (const chunk of this.chunks) {
      chunk.abort.abort();
      chunk.data = null;
    }
  }

  /** The chunk holding byte `pos`, by binary search, or null. */
  private chunkAt(pos: number): number | null {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = this.chunks[mid]!;
      if (pos < c.start) hi = mid - 1;
      else if (pos >= c.end) lo = mid + 1;
      else return mid;
    }
    return null;
  }

  /** Starts chunks up to `index` and keeps `concurrency` held ahead of the reader. */
  private start(index: number): void {
    while (!this.closed && (this.next <= index || this.next < this.low + this.concurrency) && this.next < this.chunks.length) {
      void this.fetch(this.chunks[this.next]!);
      this.next++;
    }
  }

  private async fetch(chunk: Chunk): Promise<void> {
    chunk.data = Buffer.allocUnsafe(chunk.end - chunk.start);
    try {
      for await (const part of this.file.read(chunk.start, chunk.end, chunk.abort.signal)) {
        if (!chunk.data) return;
        chunk.data.set(part, chunk.filled);
        chunk.filled += part.length;
        this.wake(chunk);
      }
    } catch (err) {
      chunk.error = err;
    } finally {
      chunk.done = true;
      this.wake(chunk);
    }
  }

  private wake(chunk: Chunk): void {
    const waiters = chunk.waiters;
    chunk.waiters = [];
    for (const w of waiters) w();
  }

  private async until(chunk: Chunk, bytes: number): Promise<void> {
    while (chunk.filled < bytes) {
      if (chunk.error) throw chunk.error;
      if (chunk.done) throw new Error(`the download of bytes ${chunk.start}-${chunk.end - 1} ended early`);
      await new Promise<void>((resolve) => chunk.waiters.push(resolve));
    }
  }

  /** Drops chunks that every outstanding read has passed, and starts the next ones. */
  private release(readEnd: number): void {
    const floor = Math.min(readEnd, ...this.pending.values());
    while (this.low < this.next && (this.chunks[this.low]?.end ?? Infinity) <= floor) {
      const chunk = this.chunks[this.low]!;
      chunk.abort.abort();
      chunk.data = null;
      this.low++;
    }
    if (this.low > this.next) this.next = this.low;
    this.start(this.low);
  }

  private async direct(buf: Uint8Array, at: number, start: number, end: number): Promise<number> {
    let got = 0;
    for await (const part of this.file.read(start, end)) {
      buf.set(part, at + got);
      got += part.length;
    }
    return got;
  }
}
