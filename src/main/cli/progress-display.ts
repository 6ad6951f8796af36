/**
 * CLI progress for one or more cards: on a terminal one redrawn line per card (bar, percent, speed, time left,
 * phase, retries); otherwise plain lines every 10 % and on phase changes, prefixed with the card when there
 * are several.
 */
import type { FlashLayout, FlashProgress } from '../../shared/report';
import { formatBytes, formatEta, formatSpeed } from '../../shared/format';

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const PHASE_LABEL: Record<FlashProgress['phase'], string> = {
  preparing: 'preparing',
  probing: 'checking capacity',
  writing: 'writing + reading back',
  verifying: 'verifying',
  retrying: 'retrying',
  'final-check': 'final check',
  flushing: 'flushing',
  done: 'done',
};

function phaseText(p: FlashProgress, readback: boolean): string {
  if (p.activity?.kind === 'rewriting') return `rewriting ${p.activity.blocks} block${p.activity.blocks === 1 ? '' : 's'} that did not hold`;
  return p.phase === 'writing' && !readback ? 'writing' : PHASE_LABEL[p.phase];
}

export class ProgressDisplay {
  private readonly last: (FlashProgress | null)[];
  private readonly lastLine: string[];
  private drawnLines = 0;

  constructor(
    private readonly out: ProgressOutput,
    private readonly readback: boolean,
    private readonly names: string[],
  ) {
    this.last = names.map(() => null);
    this.lastLine = names.map(() => '');
  }

  started(layout: FlashLayout): void {
    const count = layout.rangeCount ?? layout.ranges.length;
    const what = count > 0 ? `${formatBytes(layout.mappedBytes)} in ${count} ranges` : 'an image of unknown size';
    const to = this.names.length > 1 ? ` to ${this.names.length} cards` : '';
    this.line(`sureflash: ${what}${to}`);
  }

  update(target: number, p: FlashProgress): void {
    this.last[target] = p;
    if (this.out.isTTY) return this.redraw();
    const percent = percentOf(p);
    const text = `${phaseText(p, this.readback)}: ${Math.floor(percent / 10) * 10}%`;
    if (text === this.lastLine[target]) return;
    this.lastLine[target] = text;
    const who = this.names.length > 1 ? `${this.names[target]}: ` : '';
    const retries = p.retries > 0 ? `  retries ${p.retries}` : '';
    // URL images: the download's rate next to the write rate.
    const download = p.download ? `  download ${formatSpeed(p.download.speed)} (${formatBytes(p.download.bytes)})` : '';
    this.line(`${who}${phaseText(p, this.readback)}: ${percent}% (${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)})${retries}${download}`);
  }

  private redraw(): void {
    const width = Math.max(10, Math.min(40, (this.out.columns ?? 80) - 60 - (this.names.length > 1 ? 14 : 0)));
    const rows = this.names.map((name, i) => {
      const p = this.last[i];
      if (!p) return `${name}: waiting`;
      const percent = percentOf(p);
      const filled = Math.round((percent / 100) * width);
      const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
      const eta = p.etaSeconds !== null ? `  ETA ${formatEta(p.etaSeconds)}` : '';
      const retries = p.retries > 0 ? `  retries ${p.retries}` : '';
      const who = this.names.length > 1 ? `${name.padEnd(12)} ` : '';
      const download = p.download ? `  download ${formatSpeed(p.download.speed)}` : '';
      return `${who}[${bar}] ${String(percent).padStart(3)}%  ${formatSpeed(p.speed)}${download}${eta}  ${phaseText(p, this.readback)}${retries}`;
    });
    const up = this.drawnLines > 1 ? `\x1b[${this.drawnLines - 1}A` : '';
    this.out.write(`${up}\r${rows.map((r) => `\x1b[2K${r}`).join('\n')}`);
    this.drawnLines = rows.length;
  }

  /** Ends the redrawn lines before other output. */
  end(): void {
    if (this.drawnLines > 0) this.out.write('\n');
    this.drawnLines = 0;
  }

  private line(text: string): void {
    this.end();
    this.out.write(`${text}\n`);
  }
}

function percentOf(p: FlashProgress): number {
  return p.bytesTotal > 0 ? Math.min(100, Math.floor((p.bytesDone * 100) / p.bytesTotal)) : 0;
}
