/** Ranges in words: what each paint means (the legend) and one range's full description (the info line). */
import { formatBytes } from '../../shared/format';
import type { RangeState } from '../../shared/report';
import { spanBlocks } from './report-facts';
import { blocks, blockSpanText, retriesText } from './report-facts';
import type { LayoutRange, Paint, RangeLive } from './range-model';

export type MapMode = 'copy' | 'verify';

/** Legend words for each paint, and for the space the bmap does not map. */
export function paintLabel(paint: Paint | 'unmapped', mode: MapMode): string {
  switch (paint) {
    case 'pending':
      return mode === 'verify' ? 'not read yet' : 'not written yet';
    case 'active':
      return mode === 'verify' ? 'read so far' : 'written, being checked';
    case 'written':
      return 'written, not read back';
    case 'verified':
      return mode === 'verify' ? 'matches' : 'verified';
    case 'rewritten':
      return 'verified after rewriting';
    case 'retrying':
      return 'being rewritten';
    case 'failed':
      return mode === 'verify' ? 'differs from the image' : 'did not hold';
    case 'source':
      return 'image damaged here';
    case 'unmapped':
      return 'not mapped: left as it is';
  }
}

function stateWords(live: RangeLive, range: LayoutRange, mode: MapMode): string {
  const state: RangeState = live.state;
  switch (state) {
    case 'pending':
      return paintLabel('pending', mode);
    case 'writing': {
      const done = live.doneBytes !== null && range.bytes > 0 ? ` ${Math.floor((live.doneBytes / range.bytes) * 100)}%` : '';
      return `${mode === 'verify' ? 'being read' : 'being written and read back'}${done}`;
    }
    case 'written':
      return paintLabel('written', mode);
    case 'verified':
      return live.retries > 0 ? `verified after ${retriesText(live.retries)}` : paintLabel('verified', mode);
    case 'retrying':
      return `being rewritten (retry ${live.retries})`;
    case 'failed': {
      const bad = live.badBlocks && live.badBlocks.length > 0 ? `${blocks(spanBlocks(live.badBlocks))} ${mode === 'verify' ? 'differ' : 'did not hold'}` : paintLabel('failed', mode);
      return mode === 'verify' ? bad : `${bad} after ${retriesText(live.retries)}`;
    }
    case 'source-mismatch':
      return 'image damaged here: its data does not match the block map';
  }
}

/** "Range 3 of 12: blocks 200–255, 229.4 kB, verified after 2 retries (1 block rewritten)". */
export function describeRange(range: LayoutRange, live: RangeLive, count: number, mode: MapMode): string {
  const retried = live.retriedSpans && live.retriedSpans.length > 0 && live.state !== 'failed' ? ` (${blocks(spanBlocks(live.retriedSpans))} rewritten)` : '';
  return `Range ${range.index + 1} of ${count}: ${blockSpanText(range.first, range.last)}, ${formatBytes(range.bytes)}, ${stateWords(live, range, mode)}${retried}`;
}
