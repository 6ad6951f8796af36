/**
 * `sureflash copy` and `sureflash verify`: run one engine job in its worker, show progress, stop cleanly on
 * Ctrl-C (the report then says cancelled), write the report, and exit 0 only when the outcome is proven
 * (verified, or written-unverified when readback was turned off on purpose).
 */
import { writeFile } from 'node:fs/promises';
import type { FlashReport } from '../../shared/report';
import { describeChecksum, describeSignature } from '../../shared/authenticity';
import { formatBytes, formatDuration, formatSpeed } from '../../shared/format';
import { startEngineJob } from '../engine/worker-client';
import { parseFlashArgs } from './flash-args';
import { ProgressDisplay, type ProgressOutput } from './progress-display';

export interface FlashIo {
  stdout: ProgressOutput;
  stderr: ProgressOutput;
  /** Where SIGINT is listened to (process in the real CLI). */
  signals?: NodeJS.EventEmitter;
}

export function summary(report: FlashReport): string {
  const t = report.totals;
  const what = report.mode === 'copy' ? 'written' : 'checked';
  const bytes = report.mode === 'copy' ? t.bytesWritten : t.bytesReadBack;
  const verdict: Record<FlashReport['status'], string> = {
    verified: 'Verified',
    'written-unverified': 'Written (not read back)',
    failed: 'Failed',
    cancelled: 'Cancelled',
  };
  const retried = t.retries > 0 ? `, ${t.retries} ${t.retries === 1 ? 'retry' : 'retries'} in ${t.retriedRanges} range${t.retriedRanges === 1 ? '' : 's'}` : '';
  const bad = t.badRanges > 0 ? `, ${t.badRanges} bad range${t.badRanges === 1 ? '' : 's'}` : '';
  const downloaded = report.image.downloadedBytes !== undefined ? `, ${formatBytes(report.image.downloadedBytes)} downloaded${report.image.cachedFile ? ' (image read from the cache)' : ''}` : '';
  return `${verdict[report.status]}: ${formatBytes(bytes)} ${what} of ${formatBytes(t.mappedBytes)} mapped in ${report.ranges.length} ranges${retried}${bad}${downloaded}; ${formatDuration(report.timings.totalMs)} (${formatSpeed(report.averageSpeed)})`;
}

/** What the report says about the image's signature and published checksum, one line each (or none). */
export function authenticityLines(report: FlashReport): string[] {
  const lines: string[] = [];
  const { signature, checksum } = report.image;
  if (signature) lines.push(`signature: ${describeSignature(signature)}${signature.source ? ` (${signature.source})` : ''}`);
  if (checksum && checksum.status !== 'none') {
    const unsafe = checksum.status === 'mismatch' && report.mode === 'copy' && report.totals.bytesWritten > 0 ? ' The drive holds an image that failed its checksum: do not use it.' : '';
    const words = checksum.status === 'pending' ? 'not checked: the image was not read to its end' : describeChecksum(checksum);
    lines.push(`sha256: ${words}${checksum.source ? ` (${checksum.source})` : ''}.${unsafe}`);
  }
  return lines;
}

export async function runFlashCommand(mode: 'copy' | 'verify', argv: string[], io: FlashIo): Promise<number> {
  const { job, reportPath, quiet } = parseFlashArgs(mode, argv);
  const display = quiet ? null : new ProgressDisplay(io.stderr, mode === 'verify' || job.readback);
  const handle = startEngineJob(job, {
    onStarted: (layout) => display?.started(layout),
    onProgress: (progress) => display?.update(progress),
    onLog: (level, message) => {
      if (level === 'warn' || level === 'error' || (level === 'info' && !quiet)) io.stderr.write(`sureflash: ${message}\n`);
    },
  });
  let interrupts = 0;
  const onInterrupt = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    display?.end();
    io.stderr.write('sureflash: stopping (flushing what was written; press Ctrl-C again to abort at once)\n');
    handle.cancel();
  };
  io.signals?.on('SIGINT', onInterrupt);
  io.signals?.on('SIGTERM', onInterrupt);
  try {
    const report = await handle.done;
    display?.end();
    if (reportPath) await writeFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);
    if (report.error) io.stderr.write(`sureflash: error: ${report.error.message}\n`);
    if (!quiet || report.status !== 'verified') for (const line of authenticityLines(report)) io.stderr.write(`sureflash: ${line}\n`);
    if (!quiet || report.status !== 'verified') io.stderr.write(`${summary(report)}\n`);
    return report.status === 'verified' || report.status === 'written-unverified' ? 0 : 1;
  } finally {
    io.signals?.off('SIGINT', onInterrupt);
    io.signals?.off('SIGTERM', onInterrupt);
  }
}
