/**
 * The capacity probe: before the first image byte, unique markers are written at offsets spread over the
 * card's whole declared size (only where the image maps nothing), flushed, and read back. A counterfeit card
 * that wraps addresses returns a later marker where an earlier one was; one that drops writes returns
 * something else. Either fails the card before the image is written, with the capacity it seems to have.
 * The markers are read once more in the final pass, after the whole image was written.
 */
import { createHash } from 'node:crypto';
import type { CapacityProbeReport } from '../../../shared/report';
import { formatBytes } from '../../../shared/format';
import { PROBE_MARKER_BYTES, PROBE_MARKER_MAGIC } from '../../../shared/probe-marker';
import type { PlannedRange } from '../plan';

export const MARKER_BYTES = PROBE_MARKER_BYTES;
const MAGIC = Buffer.from(PROBE_MARKER_MAGIC, 'latin1');
/** Markers on the power-of-two grid (wrap lands on the grid), plus a few near the end. */
const GRID_MARKERS = 64;

/** Fewer markers than this past the image's end: unmapped blocks inside the image take markers too. */
const MIN_OUTSIDE = 16;

/**
 * Marker offsets: the grid j × step (step a power of two, about size/64: a wrap modulo the real capacity lands
 * on the grid), the last block, and one off the grid. Markers go past the image's end, where the card holds
 * nothing of the image, so the image's own unmapped blocks stay untouched; only when the image fills nearly
 * the whole card do unmapped blocks inside it take markers too. Never inside a mapped range.
 */
export function planMarkers(size: number, ranges: readonly PlannedRange[], imageSize: number): number[] {
  if (size < 4 * MARKER_BYTES) return [];
  let step = MARKER_BYTES;
  while (step * 2 * GRID_MARKERS <= size) step *= 2;
  const candidates = new Set<number>();
  for (let at = step; at + MARKER_BYTES <= size; at += step) candidates.add(at);
  candidates.add(Math.floor((size - MARKER_BYTES) / MARKER_BYTES) * MARKER_BYTES);
  const mid = Math.floor((size / 2 + step / 2) / MARKER_BYTES) * MARKER_BYTES;
  if (mid + MARKER_BYTES <= size) candidates.add(mid);
  const mapped = (at: number): boolean => ranges.some((r) => r.start < at + MARKER_BYTES && r.end > at);
  const all = [...candidates].filter((at) => !mapped(at)).sort((a, b) => a - b);
  const outside = all.filter((at) => at >= imageSize);
  return outside.length >= MIN_OUTSIDE ? outside : all;
}

/** Fills `out` (MARKER_BYTES) with the marker for `offset`: a header naming it, then bytes derived from it. */
export function fillMarker(out: Buffer, nonce: Buffer, offset: number): void {
  MAGIC.copy(out, 0);
  nonce.copy(out, 16);
  out.writeBigUInt64LE(BigInt(offset), 32);
  let seed = createHash('sha256').update(nonce).update(out.subarray(32, 40)).digest();
  for (let at = 40; at < MARKER_BYTES; at += seed.length) {
    seed.copy(out, at, 0, Math.min(seed.length, MARKER_BYTES - at));
    seed = createHash('sha256').update(seed).digest();
  }
}

export type MarkerReading = { offset: number; found: 'ok' } | { offset: number; found: 'other'; from: number } | { offset: number; found: 'garbage' | 'unreadable' };

/** What a read-back marker is: its own, another marker of this job (and whose), or anything else. */
export function readMarker(bytes: Buffer, nonce: Buffer, offset: number, expected: Buffer): MarkerReading {
  if (bytes.equals(expected)) return { offset, found: 'ok' };
  if (bytes.subarray(0, 16).equals(MAGIC) && bytes.subarray(16, 32).equals(nonce)) {
    return { offset, found: 'other', from: Number(bytes.readBigUInt64LE(32)) };
  }
  return { offset, found: 'garbage' };
}

/** Turns the readings into the report: passed, or failed with the capacity the card seems to have. */
export function judgeMarkers(path: string, claimed: number, readings: readonly MarkerReading[]): CapacityProbeReport {
  const bad = readings.filter((r) => r.found !== 'ok');
  if (bad.length === 0) return { status: 'passed', markers: readings.length, claimedBytes: claimed, realBytesEstimate: null, message: null };
  let estimate = claimed;
  let example = '';
  for (const r of bad) {
    if (r.found === 'other' && r.from > r.offset) {
      if (r.from - r.offset < estimate) {
        estimate = r.from - r.offset;
        example = `data written at ${formatBytes(r.from)} came back at ${formatBytes(r.offset)}`;
      }
    } else if (r.offset < estimate) {
      estimate = r.offset;
      example = r.found === 'unreadable' ? `the card cannot be read at ${formatBytes(r.offset)}` : `data written at ${formatBytes(r.offset)} did not come back`;
    }
  }
  const message =
    `${path} is probably a counterfeit card: it claims ${formatBytes(claimed)} but seems to hold only about ${formatBytes(estimate)} ` +
    `(${example}; ${bad.length} of ${readings.length} test markers did not read back). Nothing of the image was written.`;
  return { status: 'failed', markers: readings.length, claimedBytes: claimed, realBytesEstimate: estimate, message };
}
