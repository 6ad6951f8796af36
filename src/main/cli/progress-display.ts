/**
 * CLI progress: a redrawn bar on a terminal, plain lines (every 10 % and on phase changes) otherwise.
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

export class ProgressDisplay {
  private lastPhase: string | null = null;
  private lastDecile = -1;
  private drawn = false;

  constructor(
    private readonly out: ProgressOutput,
    private readonly readback: boolean,
  ) {}

  started(layout: FlashLayout): void {
    const what = layout.ranges.length > 0 ? `${formatBytes(layout.mappedBytes)} in ${layout.ranges.length} ranges` : 'an image of unknown size';
    this.line(`sureflash: ${what}`);
  }

  update(p: FlashProgress): void {
    const percent = p.bytesTotal > 0 ? Math.min(100, Math.floor((p.bytesDone * 100) / p.bytesTotal)) : 0;
    const phase = p.phase === 'writing' && !this.readback ? 'writing' : PHASE_LABEL[p.phase];
    const retries = p.retries > 0 ? `  retries ${p.retries}` : '';
    // URL images: the download's rate next to the write rate.
    const download = p.download ? `  download ${formatSpeed(p.download.speed)} (${formatBytes(p.download.bytes)})` : '';
    if (this.out.isTTY) {
      const width = Math.max(10, Math.min(40, (this.out.columns ?? 80) - 60));
      const filled = Math.round((percent / 100) * width);
      const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
      const eta = p.etaSeconds !== null ? `  ETA ${formatEta(p.etaSeconds)}` : '';
      this.out.write(`\r\x1b[2K[${bar}] ${String(percent).padStart(3)}%  ${formatSpeed(p.speed)}${download}${eta}  ${phase}${retries}`);
      this.drawn = true;
      return;
    }
    const decile = Math.floor(percent / 10);
    if (phase !== this.lastPhase || decile !== this.lastDecile) {
      this.lastPhase = phase;
      this.lastDecile = decile;
      this.line(`${phase}: ${percent}% (${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)})${retries}${download}`);
    }
  }

  /** Ends the redrawn line before other output. */
  end(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }

  private line(text: string): void {
    this.end();
    this.out.write(`${text}\n`);
  }
}
