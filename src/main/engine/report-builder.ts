/** Builds the one report object from a job's state, whatever the outcome. */
import type { Bmap } from '../../shared/bmap';
import { REPORT_VERSION, type FlashReport, type FlashStatus } from '../../shared/report';
import type { ApiError } from '../../shared/result';
import { VERSION } from '../version';
import type { JobState } from './job-state';
import type { FlashJob } from './protocol';
import { imageReportFields } from './job-image';
import { displayUrl, isHttpUrl } from './source/http/url-parts';
import type { OpenedImage } from './open-image';
import type { ImageSource } from './source/types';
import type { Target } from './target';

export interface ReportInput {
  job: FlashJob;
  startedAt: Date;
  source: ImageSource | null;
  /** The opened image (origin, signature, checksum, download); null when opening failed. */
  opened?: OpenedImage | null;
  imageSize: number | null;
  bmap: Bmap | null;
  bmapPath: string | null;
  target: Target | null;
  blockSize: number;
  state: JobState | null;
  status: FlashStatus;
  error: ApiError | null;
}

export function buildReport(input: ReportInput): FlashReport {
  const { job, source, bmap, target, state } = input;
  const ranges = state?.rangeReports() ?? [];
  const timings = state?.finishTimings() ?? { preparingMs: 0, copyMs: 0, flushMs: 0, totalMs: Date.now() - input.startedAt.getTime() };
  const mapped = ranges.reduce((n, r) => n + r.bytes, 0);
  const seconds = (timings.copyMs + timings.flushMs) / 1000;
  const readback = job.mode === 'verify' || job.readback ? (target?.direct === false ? 'buffered' : 'direct') : 'none';
  return {
    version: REPORT_VERSION,
    kind: 'card',
    tool: { name: 'sureflash', version: VERSION },
    mode: job.mode,
    startedAt: input.startedAt.toISOString(),
    image: {
      // Never the URL as given: it may carry a password or a signed token.
      path: isHttpUrl(job.image) ? displayUrl(job.image) : job.image,
      size: source?.fileSize ?? null,
      imageSize: input.imageSize,
      compression: source?.compression ?? 'none',
      decoder: source?.decoder ?? 'none',
      ...imageReportFields(input.opened ?? null),
    },
    bmap:
      bmap && input.bmapPath
        ? { path: input.bmapPath, version: bmap.version, checksumType: bmap.checksumType, mappedBytes: mapped, blockSize: bmap.blockSize }
        : null,
    target: { path: job.target, size: target?.size ?? null, kind: target?.kind ?? 'file' },
    options: { readback: job.mode === 'verify' || job.readback, verifySource: job.verifySource, retries: job.retries },
    readback,
    status: input.status,
    blockSize: input.blockSize,
    ranges,
    totals: {
      mappedBytes: mapped,
      bytesWritten: state?.bytesWritten ?? 0,
      bytesReadBack: state?.bytesReadBack ?? 0,
      retries: ranges.reduce((n, r) => n + r.retries, 0),
      rewrittenBlocks: ranges.reduce((n, r) => n + r.rewrittenBlocks, 0),
      badRanges: ranges.filter((r) => r.state === 'failed').length,
      verifiedRanges: ranges.filter((r) => r.state === 'verified').length,
      retriedRanges: ranges.filter((r) => r.retries > 0).length,
    },
    timings: {
      ...timings,
      sourceMs: Math.round(state?.opMs.source ?? 0),
      writeMs: Math.round(state?.opMs.write ?? 0),
      readbackMs: Math.round(state?.opMs.readback ?? 0),
    },
    averageSpeed: seconds > 0 ? Math.round((state?.bytesDone ?? 0) / seconds) : 0,
    ...(input.error ? { error: input.error } : {}),
  };
}
