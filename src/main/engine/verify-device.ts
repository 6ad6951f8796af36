/**
 * Verify mode with bmap checksums: read each mapped range from the device (O_DIRECT) and hash it; the image
 * itself is not needed. Reads are double-buffered so hashing overlaps the next read.
 */
import { createHash } from 'node:crypto';
import type { ChecksumType } from '../../shared/bmap';
import { alignDown, ALIGNMENT } from './aligned-buffers';
import { EngineError } from './errors';
import type { JobState } from './job-state';
import type { PlannedRange } from './plan';
import type { Target } from './target';

export async function verifyRangesByChecksum(
  target: Target,
  ranges: PlannedRange[],
  checksumType: ChecksumType,
  buffers: [Buffer, Buffer],
  state: JobState,
  signal: AbortSignal,
): Promise<void> {
  const windowBytes = buffers[0].length;
  const read = async (buf: Buffer, offset: number, length: number): Promise<Buffer> => {
    const t0 = performance.now();
    const aligned = target.direct ? alignDown(length, ALIGNMENT) : length;
    if (aligned > 0) await target.read(buf.subarray(0, aligned), offset);
    if (aligned < length) (await target.readTail(length - aligned, offset + aligned)).copy(buf, aligned);
    state.opMs.readback += performance.now() - t0;
    state.bytesReadBack += length;
    return buf.subarray(0, length);
  };
  for (const range of ranges) {
    if (signal.aborted) throw new EngineError('CANCELLED', 'cancelled by the user');
    if (!range.checksum) continue;
    const hash = createHash(checksumType);
    let turn = 0;
    let pending = read(buffers[0], range.start, Math.min(windowBytes, range.end - range.start));
    for (let offset = range.start; offset < range.end; offset += windowBytes) {
      const length = Math.min(windowBytes, range.end - offset);
      const current = await pending;
      const next = offset + length;
      turn ^= 1;
      if (next < range.end) pending = read(buffers[turn] as Buffer, next, Math.min(windowBytes, range.end - next));
      hash.update(current);
      state.addDone(length);
    }
    const ok = hash.digest('hex') === range.checksum.toLowerCase();
    if (!ok) state.markBad(range.index, [{ first: range.first, last: range.last }]);
    state.setRangeState(range.index, ok ? 'verified' : 'failed');
  }
}
