/**
 * Runs the capacity probe on a card (see capacity-probe.ts for the markers): write every marker, flush,
 * read them all back, judge. Also the final pass's second look at the markers, once the image is on the card.
 */
import { randomBytes } from 'node:crypto';
import { EngineError } from '../errors';
import type { ArenaRegion } from '../chunk/shared-arena';
import type { PlannedRange } from '../plan';
import type { CapacityProbeReport } from '../../../shared/report';
import { fillMarker, judgeMarkers, MARKER_BYTES, planMarkers, readMarker, type MarkerReading } from './capacity-probe';
import type { CardIo } from './card-io';
import type { ProgressMeter } from './progress-meter';

/** Most markers a card's marker region must hold. */
export const MAX_MARKERS = 80;

export interface ProbeState {
  report: CapacityProbeReport;
  offsets: number[];
  nonce: Buffer;
}

/** The capacity probe's error: the card failed before any of the image was written. */
export class CounterfeitError extends EngineError {
  constructor(readonly report: CapacityProbeReport) {
    super('TARGET_COUNTERFEIT', report.message ?? 'the card does not hold what it claims');
  }
}

async function readAll(io: CardIo, region: ArenaRegion, offsets: number[], nonce: Buffer): Promise<MarkerReading[]> {
  const result = await io.read(offsets.map((offset, i) => ({ start: offset, end: offset + MARKER_BYTES, at: region.at + i * MARKER_BYTES })));
  const expected = Buffer.alloc(MARKER_BYTES);
  return offsets.map((offset, i) => {
    if (result.failed[i] || (result.delivered[i] ?? 0) < MARKER_BYTES) return { offset, found: 'unreadable' as const };
    fillMarker(expected, nonce, offset);
    return readMarker(region.buf.subarray(i * MARKER_BYTES, (i + 1) * MARKER_BYTES), nonce, offset, expected);
  });
}

/**
 * The markers an earlier flash of this image left on the card, read without writing anything: every one
 * present, all of one earlier probe (one nonce), each holding its own offset and bytes. A card that wraps
 * addresses or drops writes could not have kept them so (when they were written, a later marker overwrote
 * an earlier one, or vanished), so they prove the capacity as a fresh probe would. Null: write new ones.
 */
async function earlierMarkers(io: CardIo, region: ArenaRegion, offsets: number[]): Promise<ProbeState | null> {
  const result = await io.read(offsets.map((offset, i) => ({ start: offset, end: offset + MARKER_BYTES, at: region.at + i * MARKER_BYTES })));
  const first = region.buf.subarray(0, MARKER_BYTES);
  const nonce = Buffer.from(first.subarray(16, 32));
  const expected = Buffer.alloc(MARKER_BYTES);
  for (const [i, offset] of offsets.entries()) {
    if (result.failed[i] || (result.delivered[i] ?? 0) < MARKER_BYTES) return null;
    fillMarker(expected, nonce, offset);
    if (readMarker(region.buf.subarray(i * MARKER_BYTES, (i + 1) * MARKER_BYTES), nonce, offset, expected).found !== 'ok') return null;
  }
  const size = io.target.info.size ?? 0;
  return { report: judgeMarkers(io.target.info.path, size, offsets.map((offset) => ({ offset, found: 'ok' }))), offsets, nonce };
}

/**
 * Writes, flushes and reads back the markers; throws CounterfeitError when the card fails. Null: too small to
 * probe. `reuse` (only what differs is written): intact markers of an earlier flash pass without a write.
 */
export async function runCapacityProbe(io: CardIo, region: ArenaRegion, ranges: readonly PlannedRange[], imageSize: number, meter: ProgressMeter, reuse = false): Promise<ProbeState | null> {
  const size = io.target.info.size;
  if (size === null) return null;
  const offsets = planMarkers(size, ranges, imageSize).slice(0, Math.min(MAX_MARKERS, Math.floor(region.buf.length / MARKER_BYTES)));
  if (offsets.length === 0) return null;
  meter.setActivity({ kind: 'probing', markers: offsets.length });
  if (reuse) {
    const earlier = await earlierMarkers(io, region, offsets);
    if (earlier) {
      meter.setActivity(null);
      return earlier;
    }
  }
  const nonce = randomBytes(16);
  offsets.forEach((offset, i) => fillMarker(region.buf.subarray(i * MARKER_BYTES, (i + 1) * MARKER_BYTES), nonce, offset));
  const { failed } = await io.write(offsets.map((offset, i) => ({ start: offset, end: offset + MARKER_BYTES, at: region.at + i * MARKER_BYTES })), false);
  await io.flush();
  const readings = await readAll(io, region, offsets, nonce);
  for (const span of failed) {
    const reading = readings.find((r) => r.offset === span.start);
    if (reading) Object.assign(reading, { found: 'unreadable' });
  }
  meter.setActivity(null);
  const report = judgeMarkers(io.target.info.path, size, readings);
  if (report.status === 'failed') throw new CounterfeitError(report);
  return { report, offsets, nonce };
}

/** Reads the markers again after the image was written; a changed marker means writes landed elsewhere. */
export async function recheckMarkers(io: CardIo, region: ArenaRegion, state: ProbeState): Promise<number> {
  const readings = await readAll(io, region, state.offsets, state.nonce);
  const size = io.target.info.size ?? 0;
  const report = judgeMarkers(io.target.info.path, size, readings);
  if (report.status === 'failed') {
    const message = (report.message ?? '').replace('Nothing of the image was written.', 'This showed only after the image was written: do not use the card.');
    state.report = { ...report, message };
    throw new CounterfeitError(state.report);
  }
  return readings.length;
}
