/** The selected range's blocks in a strip of cells (each cell a few whole blocks): bad and rewritten blocks at their place. */
import type { LayoutRange, RangeLive } from '../model/range-model';
import { blockCells } from '../model/range-model';
import { blocks, blockSpanText } from '../model/report-facts';
import { paintLabel, type MapMode } from '../model/range-words';

interface BlockStripProps {
  range: LayoutRange;
  live: RangeLive;
  blockSize: number;
  mode: MapMode;
}

export function BlockStrip({ range, live, blockSize, mode }: BlockStripProps) {
  const { cells, blocksPerCell } = blockCells(range, live, blockSize);
  return (
    <div className="block-strip-box">
      <p className="block-strip-label">
        Range {range.index + 1} up close: {blocks(range.last - range.first + 1)}, each cell {blocks(blocksPerCell)}
      </p>
      <div className="block-strip" role="list" aria-label={`Blocks of range ${range.index + 1}`} data-testid="block-strip">
        {cells.map((cell) => {
          const text = `${blockSpanText(cell.first, cell.last)}: ${paintLabel(cell.paint, mode)}`;
          return <span key={cell.first} role="listitem" className={`cell paint-${cell.paint}`} data-paint={cell.paint} title={text} aria-label={text} />;
        })}
      </div>
    </div>
  );
}
