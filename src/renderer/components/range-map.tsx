/**
 * The range map: the whole image from its first to its last byte, in columns. A column's height is the
 * share of it the bmap maps (unmapped space stays empty, hatched and named in the legend), its colours the
 * state of what is in it, with progress inside a range as it is written; columns holding blocks that never
 * held get a marker. Arrow keys (or the mouse) pick a range: the line below names it and a block strip
 * shows its blocks, bad and rewritten ones at their place.
 */
import { memo, useMemo, useState, type KeyboardEvent, type MouseEvent } from 'react';
import { formatBytes } from '../../shared/format';
import type { FlashLayout } from '../../shared/report';
import { estimateDone, mapColumns, mapTotal, PAINT_ORDER, pendingRange, rangeAt, type MapColumn, type Paint, type RangeLive } from '../model/range-model';
import { describeRange, paintLabel, type MapMode } from '../model/range-words';
import { BlockStrip } from './block-strip';

const ALWAYS_IN_LEGEND: Paint[] = ['pending', 'active', 'verified'];

const Column = memo(function Column({ column }: { column: MapColumn }) {
  const parts = PAINT_ORDER.filter((paint) => (column.parts[paint] ?? 0) > 0);
  return (
    <div className={`map-col${column.bad ? ' has-bad' : column.rewriting ? ' has-rewriting' : ''}`}>
      {column.mapped > 0 && (
        <div className="map-stack" style={{ height: `${(column.mapped * 100).toFixed(2)}%` }}>
          {parts.map((paint) => (
            <div key={paint} className={`paint-${paint}`} data-paint={paint} style={{ flexGrow: column.parts[paint] }} />
          ))}
        </div>
      )}
    </div>
  );
});

interface RangeMapProps {
  layout: FlashLayout;
  ranges: readonly RangeLive[];
  /** The card's bytes done, to place progress in ranges the engine did not report it for. */
  bytesDone?: number;
  mode: MapMode;
  /** A small map without legend or interaction (card tiles). */
  mini?: boolean;
  /** Range selected at first (e.g. the first one that failed). */
  initialSelection?: number | null;
  label?: string;
}

/** Columns across the map: enough to be fine-grained, few enough to stay cheap to redraw. */
const FULL_COLUMNS = 160;
const MINI_COLUMNS = 48;

export function RangeMap({ layout, ranges, bytesDone, mode, mini = false, initialSelection = null, label }: RangeMapProps) {
  const lives = useMemo(() => (bytesDone === undefined ? ranges : estimateDone(layout, ranges.slice(), bytesDone)), [layout, ranges, bytesDone]);
  const columns = useMemo(() => mapColumns(layout, lives, mini ? MINI_COLUMNS : FULL_COLUMNS), [layout, lives, mini]);
  const [selected, setSelected] = useState<number | null>(initialSelection);
  const [hovered, setHovered] = useState<number | null>(null);
  const total = mapTotal(layout);
  const count = layout.ranges.length;

  if (mini) {
    return (
      <div className="range-map mini" aria-hidden="true" data-testid="mini-map">
        {columns.map((column, i) => (
          <Column key={i} column={column} />
        ))}
      </div>
    );
  }

  const position = selected === null ? -1 : layout.ranges.findIndex((r) => r.index === selected);
  const select = (at: number): void => {
    const range = layout.ranges[Math.max(0, Math.min(count - 1, at))];
    if (range) setSelected(range.index);
  };
  const onKey = (event: KeyboardEvent<HTMLDivElement>): void => {
    const page = Math.max(1, Math.round(count / 10));
    const moves: Record<string, number> = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, PageDown: page, PageUp: -page };
    if (event.key === 'Home') select(0);
    else if (event.key === 'End') select(count - 1);
    else if (event.key in moves) select(position < 0 ? 0 : position + (moves[event.key] ?? 0));
    else return;
    event.preventDefault();
  };
  const pointAt = (event: MouseEvent<HTMLDivElement>): number | null => {
    const box = event.currentTarget.getBoundingClientRect();
    if (box.width <= 0) return null;
    return rangeAt(layout, ((event.clientX - box.left) / box.width) * total)?.index ?? null;
  };

  const shownIndex = hovered ?? selected;
  const selectedRange = selected === null ? undefined : layout.ranges.find((r) => r.index === selected);
  const describe = (index: number): string => {
    const range = layout.ranges.find((r) => r.index === index);
    return range ? describeRange(range, lives[index] ?? pendingRange, count, mode) : '';
  };
  const present = new Set(columns.flatMap((c) => Object.keys(c.parts) as Paint[]));
  // While a job runs, the states still to come are named too; afterwards only what the map shows.
  const live = bytesDone !== undefined;
  const legend = PAINT_ORDER.filter((paint) => (live && ALWAYS_IN_LEGEND.includes(paint)) || present.has(paint)).reverse();
  const share = total > 0 ? (layout.mappedBytes / total) * 100 : 100;
  const ticks = [0, 0.25, 0.5, 0.75, 1];

  return (
    <div className="range-map-box">
      <p className="map-coverage" data-testid="map-coverage">
        {label ? `${label}: ` : ''}
        {count} {count === 1 ? 'range' : 'ranges'}, {formatBytes(layout.mappedBytes)} of {formatBytes(total)} mapped ({share < 1 && share > 0 ? share.toFixed(2) : share.toFixed(1)}%)
      </p>
      <div
        className="range-map"
        role="slider"
        tabIndex={0}
        aria-label="Range map: arrow keys pick a range"
        aria-valuemin={1}
        aria-valuemax={Math.max(1, count)}
        aria-valuenow={position < 0 ? 1 : position + 1}
        aria-valuetext={selected === null ? 'No range picked' : describe(selected)}
        data-testid="range-map"
        onKeyDown={onKey}
        onMouseMove={(event) => setHovered(pointAt(event))}
        onMouseLeave={() => setHovered(null)}
        onClick={(event) => {
          const at = pointAt(event);
          if (at !== null) setSelected(at);
        }}
      >
        {columns.map((column, i) => (
          <Column key={i} column={column} />
        ))}
        {selectedRange && (
          <div
            className="map-selected"
            aria-hidden="true"
            style={{
              left: `${((selectedRange.first * layout.blockSize) / total) * 100}%`,
              width: `${(selectedRange.bytes / total) * 100}%`,
            }}
          />
        )}
      </div>
      <div className="map-scale" aria-hidden="true">
        {ticks.map((t) => (
          <span key={t}>{formatBytes(Math.round(total * t))}</span>
        ))}
      </div>
      <p className="range-info" data-testid="range-info" aria-live="polite">
        {shownIndex !== null ? describe(shownIndex) : 'Point at the map, or focus it and use the arrow keys, to see a range and its blocks.'}
      </p>
      {selectedRange && <BlockStrip range={selectedRange} live={lives[selectedRange.index] ?? pendingRange} blockSize={layout.blockSize} mode={mode} />}
      <ul className="legend" aria-label="Legend">
        {legend.map((paint) => (
          <li key={paint}>
            <span className={`swatch paint-${paint}`} aria-hidden="true" /> {paintLabel(paint, mode)}
          </li>
        ))}
        <li>
          <span className="swatch paint-unmapped" aria-hidden="true" /> {paintLabel('unmapped', mode)}
        </li>
        {present.has('retrying') && (
          <li>
            <span className="swatch marker marker-rewriting" aria-hidden="true" /> marks blocks being rewritten
          </li>
        )}
        {present.has('failed') && (
          <li>
            <span className="swatch marker" aria-hidden="true" /> marks blocks that {mode === 'verify' ? 'differ' : 'did not hold'}
          </li>
        )}
      </ul>
    </div>
  );
}
