/**
 * `sureflash copy` and `sureflash verify`: run one engine job (one image, one or more cards) in its worker,
 * show progress, stop cleanly on Ctrl-C (the reports then say cancelled), write the batch report, and exit 0
 * only when every card's outcome is proven (verified, or written-unverified when readback was turned off).
 */
import type { FlashReport } from '../../shared/report';
import { badBlockCountOf, rangeCountOf, unpackBatchReport, type AnyFlashReport, type PackedBatchReport } from '../../shared/range-table';
import { describeChecksum, describeSignature } from '../../shared/authenticity';
import { formatBytes, formatDuration, formatSpeed } from '../../shared/format';
import { reportIdentity } from '../drives/report-identity';
import { reportIdentityOf } from '../../shared/identity';
import { startEngineJob } from '../engine/worker-client';
import { EngineError } from '../engine/errors';
import { DEFAULT_IO_TIMEOUT_MS } from '../engine/protocol';
import { appDataDir, historyFile } from '../history/data-dir';
import { createFlashHistory } from '../history/flash-recorder';
import { identifyTargets, recordCopy } from './copy-history';
import { parseFlashArgs } from './flash-args';
import { ProgressDisplay, type ProgressOutput } from './progress-display';
import { ReportFile } from './report-file';

export interface FlashIo {
  stdout: ProgressOutput;
  stderr: ProgressOutput;
  /** Where SIGINT is listened to (process in the real CLI). */
  signals?: NodeJS.EventEmitter;
}

const VERDICT: Record<FlashReport['status'], string> = {
  verified: 'Verified',
  'written-unverified': 'Written (not read back)',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** The one-line outcome of a single-card job. */
export function summary(report: AnyFlashReport): string {
  const t = report.totals;
  const what = report.mode === 'copy' ? 'written' : 'checked';
  const bytes = report.mode === 'copy' ? t.bytesWritten : t.bytesReadBack;
  const retried = t.retries > 0 ? `, ${t.retriedBlocks ?? t.rewrittenBlocks} block${(t.retriedBlocks ?? 0) === 1 ? '' : 's'} rewritten in ${t.retriedRanges} range${t.retriedRanges === 1 ? '' : 's'}` : '';
  const skipped = (t.skippedBlocks ?? 0) > 0 ? `, ${t.skippedBlocks} blocks already right (not written)` : '';
  const bad = t.badRanges > 0 ? `, ${t.badRanges} bad range${t.badRanges === 1 ? '' : 's'}` : '';
  const unsafe = report.unsafeToUse ? ' The card holds a partial image: do not use it.' : '';
  const downloaded = report.image.downloadedBytes !== undefined ? `, ${formatBytes(report.image.downloadedBytes)} downloaded${report.image.cachedFile ? ' (image read from the cache)' : ''}` : '';
  return `${VERDICT[report.status]}: ${formatBytes(bytes)} ${what} of ${formatBytes(t.mappedBytes)} mapped in ${rangeCountOf(report)} ranges${retried}${skipped}${bad}${downloaded}; ${formatDuration(report.timings.totalMs)} (${formatSpeed(report.averageSpeed)}).${unsafe}`;
}

/** What the report says about the image's signature and published checksum, one line each (or none). */
export function authenticityLines(report: AnyFlashReport): string[] {
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

/** Who a card is, for the summary: vendor, model and serial when the kernel told them. */
function identityText(report: AnyFlashReport): string {
  const id = report.target.identity;
  if (!id) return '';
  const parts = [id.vendor, id.model].filter(Boolean).join(' ');
  const serial = id.serial ? ` ${id.serialScope === 'reader' ? 'reader ' : ''}#${id.serial}` : '';
  return parts || serial ? ` (${parts}${serial})` : '';
}

/** One line per card of a batch: device, identity, verdict, retries, bad blocks, speed. */
export function cardLine(report: AnyFlashReport): string {
  const t = report.totals;
  const bad = badBlockCountOf(report);
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const rewritten = t.retriedBlocks ?? t.rewrittenBlocks;
  const retries = t.retries > 0 ? `${t.retries} ${t.retries === 1 ? 'retry' : 'retries'} (${plural(rewritten, 'block')} rewritten)` : 'no retries';
  const skipped = report.options.skipIdentical && report.mode === 'copy' ? `, ${plural(t.writtenBlocks ?? 0, 'block')} written, ${t.skippedBlocks ?? 0} already right` : '';
  const why = report.error && report.status !== 'verified' ? ` — ${report.error.message}` : '';
  return `${report.target.path}${identityText(report)}: ${VERDICT[report.status]}; ${retries}, ${plural(bad, 'bad block')}${skipped}, ${formatSpeed(report.averageSpeed)}${report.unsafeToUse ? '; holds a partial image: do not use it' : ''}${why}`;
}

const proven = (status: FlashReport['status']): boolean => status === 'verified' || status === 'written-unverified';

export async function runFlashCommand(mode: 'copy' | 'verify', argv: string[], io: FlashIo): Promise<number> {
  const { job, reportPath, quiet, history: historyChoice } = parseFlashArgs(mode, argv);
  const names = job.targets.map((t) => t.path);
  // Cards (block devices) are identified before the flash and recorded after it (see copy-history.ts);
  // without the history, each card's identity for its report and summary line comes from sysfs alone.
  const taken =
    historyChoice === false
      ? []
      : await identifyTargets(names, job.ioTimeoutMs ?? DEFAULT_IO_TIMEOUT_MS, (path) =>
          io.stderr.write(`sureflash: warning: ${path} did not answer reading its fingerprint within ${Math.round((job.ioTimeoutMs ?? DEFAULT_IO_TIMEOUT_MS) / 1000)} s: it goes into the flash unidentified (not recorded in the history)\n`),
        );
  taken.forEach((identity, i) => {
    const target = job.targets[i];
    if (identity && target) target.identity = reportIdentityOf(identity);
  });
  for (const target of job.targets) target.identity ??= await reportIdentity(target.path);
  let reportFile: ReportFile | null = null;
  if (reportPath) {
    try {
      reportFile = ReportFile.open(reportPath, { image: job.image, targets: names, startedAt: new Date().toISOString() });
    } catch (err) {
      io.stderr.write(`sureflash: error: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
  }
  // The display shows totals; each range's changes are not sent to this process (the report has every range).
  job.rangeChanges = false;
  const display = quiet ? null : new ProgressDisplay(io.stderr, mode === 'verify' || job.readback, names);
  const handle = startEngineJob(job, {
    onStarted: (layout) => display?.started(layout),
    onProgress: (target, progress) => display?.update(target, progress),
    onLog: (level, message) => {
      if (level === 'warn' || level === 'error' || (level === 'info' && !quiet)) {
        display?.end();
        io.stderr.write(`sureflash: ${message}\n`);
      }
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
    // The cards' ranges stay packed: the report file is written from the columns one range at a time, so
    // 50,000 ranges never become 50,000 objects in this thread.
    let batch: PackedBatchReport;
    try {
      batch = await handle.packed;
    } catch (err) {
      display?.end();
      const message = err instanceof Error ? err.message : String(err);
      reportFile?.write({ status: 'failed', error: { code: err instanceof EngineError ? err.code : 'INTERNAL', message } });
      io.stderr.write(`sureflash: error: ${message}\n`);
      return 1;
    }
    display?.end();
    if (reportFile) {
      try {
        reportFile.write(batch);
      } catch (err) {
        io.stderr.write(`sureflash: error: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
    if (historyChoice !== false && taken.some((t) => t !== null)) {
      const history = createFlashHistory(historyChoice ?? historyFile(appDataDir()));
      try {
        const { lines, warnings } = await recordCopy(unpackBatchReport(batch), taken, history);
        if (!quiet) for (const line of lines) io.stderr.write(`sureflash: history: ${line}\n`);
        for (const warning of warnings) io.stderr.write(`sureflash: warning: ${warning}\n`);
      } catch (err) {
        io.stderr.write(`sureflash: warning: the flash was not recorded in the history: ${err instanceof Error ? err.message : String(err)}\n`);
      } finally {
        history.close();
      }
    }
    const first = batch.cards[0];
    if (first && (!quiet || first.status !== 'verified')) for (const line of authenticityLines(first)) io.stderr.write(`sureflash: ${line}\n`);
    if (batch.cards.length === 1) {
      const report = batch.cards[0] as AnyFlashReport;
      if (report.error && !proven(report.status)) io.stderr.write(`sureflash: error: ${report.error.message}\n`);
      if (!quiet || report.status !== 'verified') io.stderr.write(`${summary(report)}\n`);
    } else {
      for (const report of batch.cards) io.stderr.write(`${cardLine(report)}\n`);
      const s = batch.summary;
      io.stderr.write(`${s.verified} of ${s.cards} cards verified${s.failed ? `, ${s.failed} failed` : ''}${s.cancelled ? `, ${s.cancelled} cancelled` : ''}\n`);
    }
    // A thread blocked in the kernel on a stalled card cannot be ended by any signal: say why the command
    // has not returned yet. The verdict and the report are final.
    const stuck = batch.cards.filter((c) => c.error?.code === 'DEVICE_STALLED').map((c) => c.target.path);
    if (stuck.length > 0) {
      io.stderr.write(`sureflash: the kernel still waits on ${stuck.join(', ')}: this command ends when the card answers or is removed (the verdict and the report are final)\n`);
    }
    return batch.cards.length > 0 && batch.cards.every((c) => proven(c.status)) ? 0 : 1;
  } finally {
    io.signals?.off('SIGINT', onInterrupt);
    io.signals?.off('SIGTERM', onInterrupt);
  }
}
