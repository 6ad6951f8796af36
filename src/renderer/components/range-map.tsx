/**
 * The live range map: every bmap range drawn at its place in the image, its width in proportion to its
 * bytes, coloured by state. Arrow keys walk the ranges (one tab stop); hover or focus names the blocks.
 */
import { memo, useCallback, useRef, useState, type KeyboardEvent } from 'react';
import { formatBytes } from '../../shared/format';
import type { FlashLayout, RangeState } from '../../shared/report';

export const STATE_LABELS: Record<RangeState, string> = {
  pending: 'pending',
  writing: 'writing',
  written: 'written',
  verified: 'verified',
  retrying: 'retrying',
  failed: 'failed',
  'source-mismatch': 'image damaged here',
};

const LEGEND: RangeState[] = ['pending', 'writing', 'written', 'verified', 'retrying', 'failed'];

/** "blocks 10–19" or "block 10". */
export function blockSpanText(first: number, last: number): string {
  return first === last ? `block ${first}` : `blocks ${first}–${last}`;
}

type LayoutRange = FlashLayout['ranges'][number];

function describeRange(range: LayoutRange, state: RangeState, retries: number): string {
  const tries = retries > 0 ? `, ${retries} ${retries === 1 ? 'retry' : 'retries'}` : '';
  return `Range ${range.index + 1}: ${blockSpanText(range.first, range.last)}, ${formatBytes(range.bytes)}, ${STATE_LABELS[state]}${tries}`;
}

interface RangeCellProps {
  range: LayoutRange;
  left: number;
  width: number;
  state: RangeState;
  retries: number;
  position: number;
  tabbable: boolean;
  onShow(index: number): void;
  onKey(position: number, event: KeyboardEvent<HTMLDivElement>): void;
}

const RangeCell = memo(function RangeCell({ range, left, width, state, retries, position, tabbable, onShow, onKey }: RangeCellProps) {
  const label = describeRange(range, state, retries);
  return (
    <div
      className={`range range-${state}`}
      role="img"
      aria-label={label}
      title={label}
      data-index={range.index}
      data-state={state}
      tabIndex={tabbable ? 0 : -1}
      style={{ left: `${left}%`, width: `${width}%` }}
      onMouseEnter={() => onShow(range.index)}
      onFocus={() => onShow(range.index)}
      onKeyDown={(event) => onKey(position, event)}
    />
  );
});

interface RangeMapProps {
  layout: FlashLayout;
  rangeStates: readonly RangeState[];
  rangeRetries: readonly number[];
}

export function RangeMap({ layout, rangeStates, rangeRetries }: RangeMapProps) {
  const [shown, setShown] = useState<number | null>(null);
  const [tabStop, setTabStop] = useState(0);
  const mapRef = useRef<HTMLDivElement>(null);
  const total = layout.imageSize > 0 ? layout.imageSize : Math.max(1, layout.mappedBytes);
  const ranges = layout.ranges;

  const count = ranges.length;
  const onKey = useCallback(
    (position: number, event: KeyboardEvent<HTMLDivElement>) => {
      let target: number;
      if (event.key === 'ArrowRight' || event.key === 'ArrowDown') target = position + 1;
      else if (event.key === 'ArrowLeft' || event.key === 'ArrowUp') target = position - 1;
      else if (event.key === 'Home') target = 0;
      else if (event.key === 'End') target = count - 1;
      else return;
      event.preventDefault();
      const next = Math.max(0, Math.min(count - 1, target));
      setTabStop(next);
      mapRef.current?.querySelectorAll<HTMLElement>('.range')[next]?.focus();
    },
    [count],
  );

  const shownRange = shown === null ? undefined : ranges.find((r) => r.index === shown);

  return (
    <div className="range-map-box">
      <div ref={mapRef} className="range-map" role="group" aria-label={`Range map, ${ranges.length} ranges`} data-testid="range-map">
        {ranges.map((range, position) => (
          <RangeCell
            key={range.index}
            range={range}
            left={((range.first * layout.blockSize) / total) * 100}
            width={(range.bytes / total) * 100}
            state={rangeStates[range.index] ?? 'pending'}
            retries={rangeRetries[range.index] ?? 0}
            position={position}
            tabbable={position === tabStop}
            onShow={setShown}
            onKey={onKey}
          />
        ))}
      </div>
      <p className="range-info" data-testid="range-info">
        {shownRange
          ? describeRange(shownRange, rangeStates[shownRange.index] ?? 'pending', rangeRetries[shownRange.index] ?? 0)
          : 'Hover or focus a range to see its blocks (arrow keys move between ranges).'}
      </p>
      <ul className="legend" aria-label="Legend">
        {LEGEND.map((state) => (
          <li key={state}>
            <span className={`swatch range-${state}`} aria-hidden="true" /> {STATE_LABELS[state]}
          </li>
        ))}
      </ul>
    </div>
  );
}
