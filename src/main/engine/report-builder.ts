/** Builds the report objects from a job's parts, whatever the outcome: one per card, and the batch. */
import type { BmapHeader } from '../../shared/bmap';
import type { CardIdentity } from '../../shared/identity';
import { batchStatus, batchSummary, REPORT_VERSION, type FlashReport, type FlashStatus } from '../../shared/report';
import { rangeNumber, rangeState, sumRangeNumber, type PackedBatchReport, type PackedFlashReport, type RangeTable } from '../../shared/range-table';
import type { ApiError } from '../../shared/result';
import { VERSION } from '../version';
import type { TargetInfo } from './device/device-client';
import type { IoStats } from './lane/card-io';
import type { CardStageResult } from './lane/card-stage';
import type { ProgressMeter } from './lane/progress-meter';
import type { FlashJob } from './protocol';
import type { ImageSource } from './source/types';
import { imageReportFields } from './job-image';
import { displayUrl, isHttpUrl } from './source/http/url-parts';
import type { OpenedImage } from './open-image';

export interface JobFacts {
  job: FlashJob;
  startedAt: Date;
  source: ImageSource | null;
  /** The opened image (origin, signature, checksum, download); null when opening failed. */
  opened?: OpenedImage | null;
  imageSize: number | null;
  bmap: BmapHeader | null;
  bmapPath: string | null;
  blockSize: number;
  /** When the cards started (after the pre-checks). */
  cardsStartedAt: number;
  sourceMs: number;
}

export interface CardFacts {
  path: string;
  identity: CardIdentity | null;
  info: TargetInfo | null;
  /** Every range's report, in range order (the card's range book's), packed. */
  ranges: RangeTable;
  meter: ProgressMeter | null;
  stage: CardStageResult | null;
  io: IoStats | null;
  status: FlashStatus;
  error: ApiError | null;
}

function imagePart(f: JobFacts): FlashReport['image'] {
  return {
    // Never the URL as given: it may carry a password or a signed token.
    path: isHttpUrl(f.job.image) ? displayUrl(f.job.image) : f.job.image,
    size: f.source?.fileSize ?? null,
    imageSize: f.imageSize,
    compression: f.source?.compression ?? 'none',
    decoder: f.source?.decoder ?? 'none',
    ...imageReportFields(f.opened ?? null),
  };
}

function bmapPart(f: JobFacts, mapped: number): FlashReport['bmap'] {
  const { bmap, bmapPath } = f;
  return bmap && bmapPath ? { path: bmapPath, version: bmap.version, checksumType: bmap.checksumType, mappedBytes: mapped, blockSize: bmap.blockSize } : null;
}

/** Ranges in each state, and ranges that needed a rewrite. */
function countRanges(ranges: RangeTable): { failed: number; verified: number; retried: number; sourceMismatch: number } {
  const n = { failed: 0, verified: 0, retried: 0, sourceMismatch: 0 };
  for (let at = 0; at < ranges.count; at++) {
    const state = rangeState(ranges, at);
    if (state === 'failed') n.failed++;
    else if (state === 'verified') n.verified++;
    else if (state === 'source-mismatch') n.sourceMismatch++;
    if (rangeNumber(ranges, at, 'retries') > 0) n.retried++;
  }
  return n;
}

/** One card's report, its ranges packed (`unpackFlashReport` gives the FlashReport). */
export function buildCardReport(f: JobFacts, c: CardFacts): PackedFlashReport {
  const { job } = f;
  const { ranges } = c;
  const mapped = sumRangeNumber(ranges, 'bytes');
  const counts = countRanges(ranges);
  const now = Date.now();
  const preparingMs = Math.max(0, f.cardsStartedAt - f.startedAt.getTime());
  const st = c.stage?.timings;
  const flushMs = Math.round(c.io?.flushMs ?? 0);
  const copyMs = Math.round((st?.copyMs ?? 0) + (st?.probeMs ?? 0));
  const seconds = ((st?.copyMs ?? 0) + (st?.finalPassMs ?? 0) + (st?.finishMs ?? 0) + (st?.probeMs ?? 0)) / 1000;
  const readbackOn = job.mode === 'verify' || job.readback;
  const touched = c.stage?.touched ?? false;
  const sum = (key: 'rewrittenBlocks' | 'retriedBlocks' | 'writtenBlocks' | 'skippedBlocks' | 'mediaErrors' | 'retries'): number => sumRangeNumber(ranges, key);
  return {
    version: REPORT_VERSION,
    kind: 'card',
    tool: { name: 'sureflash', version: VERSION },
    mode: job.mode,
    startedAt: f.startedAt.toISOString(),
    finishedAt: new Date(now).toISOString(),
    image: imagePart(f),
    bmap: bmapPart(f, mapped),
    target: {
      path: c.path,
      size: c.info?.size ?? null,
      kind: c.info?.kind ?? 'file',
      sectorSize: c.info ? c.info.sectorSize : null,
      writeCache: c.info?.writeCache ?? null,
      identity: c.identity,
    },
    options: {
      readback: readbackOn,
      verifySource: job.verifySource,
      retries: job.retries,
      skipIdentical: job.skipIdentical ?? false,
      probe: job.probe ?? true,
      ioTimeoutMs: job.ioTimeoutMs ?? 30_000,
    },
    readback: readbackOn ? (c.info?.direct === false ? 'buffered' : 'direct') : 'none',
    verification: {
      afterFlush: job.mode === 'copy' && job.readback,
      flushes: c.io?.flushes ?? 0,
      finalPass: c.stage?.finalPass ?? null,
    },
    probe: c.stage?.probe ?? null,
    status: c.status,
    unsafeToUse: job.mode === 'copy' && touched && (c.status === 'failed' || c.status === 'cancelled'),
    blockSize: f.blockSize,
    ranges,
    totals: {
      mappedBytes: mapped,
      bytesWritten: c.io?.bytesWritten ?? 0,
      bytesReadBack: c.io?.bytesReadBack ?? 0,
      retries: sum('retries'),
      rewrittenBlocks: sum('rewrittenBlocks'),
      retriedBlocks: sum('retriedBlocks'),
      writtenBlocks: sum('writtenBlocks'),
      skippedBlocks: sum('skippedBlocks'),
      badRanges: counts.failed,
      verifiedRanges: counts.verified,
      retriedRanges: counts.retried,
      sourceMismatchRanges: counts.sourceMismatch,
      mediaErrors: sum('mediaErrors'),
    },
    timings: {
      preparingMs,
      probeMs: Math.round(st?.probeMs ?? 0),
      copyMs,
      finalPassMs: Math.round(st?.finalPassMs ?? 0),
      flushMs,
      totalMs: now - f.startedAt.getTime(),
      sourceMs: Math.round(f.sourceMs),
      writeMs: Math.round(c.io?.writeMs ?? 0),
      readbackMs: Math.round(c.io?.readMs ?? 0),
    },
    averageSpeed: seconds > 0 ? Math.round((c.meter?.bytesDone ?? 0) / seconds) : 0,
    ...(c.error ? { error: c.error } : {}),
  };
}

export function buildBatchReport(f: JobFacts, cards: PackedFlashReport[]): PackedBatchReport {
  const mapped = cards[0]?.totals.mappedBytes ?? 0;
  return {
    version: REPORT_VERSION,
    kind: 'batch',
    tool: { name: 'sureflash', version: VERSION },
    mode: f.job.mode,
    startedAt: f.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    image: imagePart(f),
    bmap: bmapPart(f, mapped),
    status: batchStatus(cards),
    cards,
    summary: batchSummary(cards),
  };
}
