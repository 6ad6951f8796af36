/**
 * Fresh copies of chunks the final pass found wrong on a card: read again from a raw file, or taken from a
 * new pass over the decoded stream (only the spans needed are wanted, so a multi-block .xz decodes little).
 * The caller releases each chunk's slot. Standard input cannot be read twice: there is no refetch then.
 */
import type { ImageSource } from '../source/types';
import { EngineError } from '../errors';
import { indexIn, type Chunk, type ChunkPool } from './chunk-pool';
import type { ChunkPlan } from './pack-chunks';

export function refetcher(source: ImageSource, pool: ChunkPool): ((plans: ChunkPlan[]) => AsyncIterable<Chunk>) | null {
  if (source.path === '-') return null;
  const make = (plan: ChunkPlan, slot: Chunk['slot'], seq: number): Chunk => ({
    seq,
    slot,
    start: plan.start,
    end: plan.end,
    pieces: plan.pieces,
    digest: null,
    provisional: false,
  });
  return async function* refetch(plans: ChunkPlan[]): AsyncGenerator<Chunk> {
    const sorted = [...plans].sort((a, b) => a.start - b.start);
    const readAt = source.readAt;
    if (readAt) {
      for (const [i, plan] of sorted.entries()) {
        const slot = await pool.acquire();
        const at = indexIn(plan.start, plan.start);
        const got = await readAt(slot.buf.subarray(at, at + plan.end - plan.start), plan.start).catch((err: unknown) => {
          pool.release(slot);
          throw err;
        });
        if (got < plan.end - plan.start) {
          pool.release(slot);
          throw new EngineError('IMAGE_SIZE_MISMATCH', `image ${source.path} changed while it was written: it now ends at byte ${plan.start + got}`);
        }
        yield make(plan, slot, -1 - i);
      }
      return;
    }
    const wanted = (start: number, end: number): boolean => sorted.some((p) => p.start < end && p.end > start);
    let next = 0;
    let pos = 0;
    let slot: Chunk['slot'] | null = null;
    try {
      for await (const bytes of source.stream(wanted)) {
        let p = 0;
        while (p < bytes.length && next < sorted.length) {
          const plan = sorted[next] as ChunkPlan;
          if (pos + (bytes.length - p) <= plan.start) {
            pos += bytes.length - p;
            p = bytes.length;
            break;
          }
          if (pos < plan.start) {
            p += plan.start - pos;
            pos = plan.start;
          }
          slot ??= await pool.acquire();
          const n = Math.min(plan.end - pos, bytes.length - p);
          slot.buf.set(bytes.subarray(p, p + n), indexIn(plan.start, pos));
          pos += n;
          p += n;
          if (pos >= plan.end) {
            const full = slot;
            slot = null;
            next++;
            yield make(plan, full, -1 - next);
          }
        }
        if (next >= sorted.length) return;
        pos += bytes.length - p;
      }
    } finally {
      if (slot) pool.release(slot);
    }
  };
}
