/**
 * The capacity probe with only-what-differs: intact markers of an earlier probe pass without a write; on a
 * card that wraps addresses the earlier markers are not intact (they overwrote each other), so the probe
 * writes anew and fails the card again.
 */
import { describe, expect, it } from 'vitest';
import type { CardIo, PlacedSpan } from '../../src/main/engine/lane/card-io';
import { CounterfeitError, MAX_MARKERS, runCapacityProbe } from '../../src/main/engine/lane/probe-run';
import { MARKER_BYTES } from '../../src/main/engine/lane/capacity-probe';
import type { ProgressMeter } from '../../src/main/engine/lane/progress-meter';
import type { PlannedRange } from '../../src/main/engine/plan';

const MiB = 1024 * 1024;
const BLOCK = 4096;

/** A card of `size` bytes storing `real` of them (addresses wrap modulo `real`), and its write count. */
function fakeCard(size: number, real = size): { io: CardIo; region: { at: number; buf: Buffer }; writes: () => number; poke(offset: number, bytes: Buffer): void } {
  const media = Buffer.alloc(real);
  let writes = 0;
  const region = { at: 0, buf: Buffer.alloc(MAX_MARKERS * MARKER_BYTES) };
  const io = {
    target: { info: { path: '/dev/fake', size } },
    async write(spans: readonly PlacedSpan[]) {
      for (const s of spans) {
        writes++;
        for (let b = s.start; b < s.end; b += BLOCK) region.buf.copy(media, b % real, s.at - region.at + (b - s.start), s.at - region.at + (b - s.start) + BLOCK);
      }
      return { failed: [], mediaErrors: 0 };
    },
    async read(spans: readonly PlacedSpan[]) {
      for (const s of spans) for (let b = s.start; b < s.end; b += BLOCK) media.copy(region.buf, s.at - region.at + (b - s.start), b % real, (b % real) + BLOCK);
      return { delivered: spans.map((s) => s.end - s.start), failed: spans.map(() => false), mediaErrors: 0 };
    },
    async flush() {},
  } as unknown as CardIo;
  return { io, region, writes: () => writes, poke: (offset, bytes) => void bytes.copy(media, offset % real) };
}

const meter = { setActivity: () => undefined } as unknown as ProgressMeter;
const ranges: PlannedRange[] = [{ index: 0, first: 0, last: 255, start: 0, end: MiB, checksum: null }];

async function probe(card: ReturnType<typeof fakeCard>, reuse: boolean) {
  return runCapacityProbe(card.io, card.region, ranges, MiB, meter, reuse);
}

describe('capacity probe, reusing an earlier flash’s markers', () => {
  it('a card probed before: passes with no write, with the earlier nonce', async () => {
    const card = fakeCard(64 * MiB);
    const first = await probe(card, true);
    const written = card.writes();
    expect(written).toBeGreaterThan(0);
    const again = await probe(card, true);
    expect(card.writes()).toBe(written);
    expect(again?.report.status).toBe('passed');
    expect(again?.nonce.equals(first?.nonce ?? Buffer.alloc(0))).toBe(true);
  });

  it('one marker gone (the card was used since): the markers are written anew', async () => {
    const card = fakeCard(64 * MiB);
    const first = await probe(card, true);
    card.poke(first?.offsets[3] ?? 0, Buffer.alloc(BLOCK, 0x11));
    const written = card.writes();
    const again = await probe(card, true);
    expect(card.writes()).toBeGreaterThan(written);
    expect(again?.nonce.equals(first?.nonce ?? Buffer.alloc(0))).toBe(false);
  });

  it('a card that wraps at 16 MiB: refused, and refused again with reuse (its old markers alias each other)', async () => {
    const card = fakeCard(64 * MiB, 16 * MiB);
    await expect(probe(card, false)).rejects.toBeInstanceOf(CounterfeitError);
    const written = card.writes();
    await expect(probe(card, true)).rejects.toBeInstanceOf(CounterfeitError);
    expect(card.writes()).toBeGreaterThan(written);
  });
});
