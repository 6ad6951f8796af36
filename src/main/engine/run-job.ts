/**
 * One engine job, in the calling thread: pre-checks (image, bmap, sizes, target) before the first byte is
 * written, then the windowed copy with readback and retry (or a read-only verify), flush, and the report.
 * The worker entry runs this; so can tests.
 */
import type { Bmap } from '../../shared/bmap';
import type { FlashLayout, FlashProgress, FlashReport, FlashStatus } from '../../shared/report';
import type { ApiError } from '../../shared/result';
import { EngineError, serializeError } from './errors';
import { describeSize } from './engine-format';
import { JobState } from './job-state';
import { DEFAULT_BLOCK_SIZE, layoutOf, planFromBmap, planWholeImage, type PlannedRange } from './plan';
import type { FlashJob, LogLevel } from './protocol';
import { buildReport } from './report-builder';
import { openJobImage, withDownload } from './job-image';
import type { OpenedImage } from './open-image';
import type { ImageSource } from './source/types';
import { openTarget, type Target } from './target';
import { verifyRangesByChecksum } from './verify-device';
import { copyWindow, compareWindow, type WindowTaskContext } from './window-tasks';
import { WindowPool } from './window-pool';
import { produceFromFile, produceFromStream, type ProducerOptions } from './window-producer';

export interface JobEvents {
  started(layout: FlashLayout): void;
  progress(progress: FlashProgress): void;
  log(level: LogLevel, message: string): void;
}

/** Window size and count: 8 windows of 2 MiB measured best on loop devices here (see the README benchmark). */
const WINDOW_BYTES = Number(process.env.SUREFLASH_WINDOW_KIB ?? 2048) * 1024;
const WINDOWS = Number(process.env.SUREFLASH_WINDOWS ?? 8);
/** Seconds of writing that may be in flight at the device's measured speed. */
const IN_FLIGHT_SECONDS = 0.4;

interface Prepared {
  opened: OpenedImage;
  source: ImageSource;
  bmap: Bmap | null;
  bmapPath: string | null;
  imageSize: number | null;
  target: Target;
}

async function prepare(job: FlashJob, keep: Partial<Prepared>, signal: AbortSignal, events: JobEvents): Promise<Prepared> {
  // Files and URLs alike: bmap found or given, its signature and the image's sha256 checked where they can be.
  const opened = await openJobImage(job, signal, (level, message) => events.log(level, message));
  keep.opened = opened;
  const source = opened.source;
  keep.source = source;
  const { bmap, bmapPath } = opened;
  keep.bmap = bmap;
  keep.bmapPath = bmapPath;
  if (bmap && source.imageSize !== null && source.imageSize !== bmap.imageSize) {
    throw new EngineError(
      'IMAGE_SIZE_MISMATCH',
      `image ${opened.name} is ${describeSize(source.imageSize)} but the bmap ${bmapPath} says ImageSize ${describeSize(bmap.imageSize)}: wrong bmap or damaged image`,
    );
  }
  const imageSize = bmap?.imageSize ?? source.imageSize;
  keep.imageSize = imageSize;
  const target = await openTarget(job.target, { mode: job.mode, imageSize, requireBlockDevice: job.requireBlockDevice });
  keep.target = target;
  return { opened, source, bmap, bmapPath, imageSize, target };
}

function statusOf(error: ApiError | null, state: JobState, job: FlashJob): FlashStatus {
  if (error?.code === 'CANCELLED') return 'cancelled';
  if (error) return 'failed';
  if (state.ranges.some((r) => r.state === 'failed')) return 'failed';
  return job.mode === 'copy' && !job.readback ? 'written-unverified' : 'verified';
}

function readbackError(state: JobState, job: FlashJob): ApiError | null {
  const bad = state.rangeReports().filter((r) => r.state === 'failed');
  if (bad.length === 0) return null;
  const spans = bad.flatMap((r) => r.badBlocks ?? [{ first: r.first, last: r.last }]);
  const list = spans.slice(0, 5).map((s) => (s.first === s.last ? `${s.first}` : `${s.first}-${s.last}`)).join(', ');
  const more = spans.length > 5 ? ` and ${spans.length - 5} more` : '';
  const single = spans.length === 1 && spans[0]?.first === spans[0]?.last;
  const blocks = `${single ? 'block' : 'blocks'} ${list}${more}`;
  const ranges = `range${bad.length > 1 ? 's' : ''} ${bad.map((r) => r.index + 1).join(', ')}`;
  if (job.mode === 'verify') {
    return { code: 'READBACK_MISMATCH', message: `${blocks} on ${job.target} ${single ? 'does' : 'do'} not match the image (${ranges})` };
  }
  const retries = `${job.retries} ${job.retries === 1 ? 'retry' : 'retries'}`;
  const after = job.retries > 0 ? ` after ${retries} (retries exhausted)` : ' (retry is off: --checksum-retry=N rewrites such blocks)';
  return { code: 'READBACK_MISMATCH', message: `${blocks} did not hold the written data${after}: ${ranges}` };
}

export async function runJob(job: FlashJob, events: JobEvents, signal: AbortSignal): Promise<FlashReport> {
  const startedAt = new Date();
  const keep: Partial<Prepared> = {};
  let state: JobState | null = null;
  let error: ApiError | null = null;
  let blockSize = DEFAULT_BLOCK_SIZE;
  try {
    const { opened, source, bmap, bmapPath, imageSize, target } = await prepare(job, keep, signal, events);
    logPlan(job, events, { opened, source, bmap, bmapPath, imageSize, target });
    blockSize = bmap?.blockSize ?? DEFAULT_BLOCK_SIZE;
    const ranges: PlannedRange[] = bmap ? planFromBmap(bmap) : imageSize !== null ? planWholeImage(imageSize) : [];
    state = new JobState(ranges, (p) => events.progress(withDownload(p, opened)), Date.now, startedAt.getTime());
    events.started(layoutOf(ranges, imageSize, blockSize));
    state.setPhase(job.mode === 'copy' ? 'writing' : 'verifying');
    error = await execute(job, { source, bmap, imageSize, target, ranges, state, blockSize, signal });
    if (!error) error = readbackError(state, job);
  } catch (err) {
    error = serializeError(err);
  } finally {
    if (state) state.setPhase('flushing');
    const length = state && keep.imageSize === null ? state.bytesTotal : undefined;
    // Flush what was written; a job that failed before writing anything leaves the target alone.
    const touched = !error || (state?.bytesWritten ?? 0) > 0;
    const flushError = keep.target && job.mode === 'copy' && touched ? await keep.target.flush(length).then(() => null, (e: unknown) => serializeError(e)) : null;
    if (job.mode === 'copy' && !error && flushError) error = flushError;
    await keep.target?.close();
    await (keep.opened ?? keep.source)?.close();
  }
  const status = state ? statusOf(error, state, job) : error?.code === 'CANCELLED' ? 'cancelled' : 'failed';
  if (state && error) state.abandonUnfinished();
  const report = buildReport({
    job,
    startedAt,
    source: keep.source ?? null,
    opened: keep.opened ?? null,
    imageSize: keep.imageSize ?? null,
    bmap: keep.bmap ?? null,
    bmapPath: keep.bmapPath ?? null,
    target: keep.target ?? null,
    blockSize,
    state,
    status,
    error: status === 'verified' || status === 'written-unverified' ? null : error,
  });
  if (state) {
    state.setPhase('done');
  }
  return report;
}

function logPlan(job: FlashJob, events: JobEvents, p: Prepared): void {
  const compression = p.source.compression === 'none' ? 'raw' : `${p.source.compression}, decoded by ${p.source.decoder}`;
  events.log('info', `image ${p.opened.name} (${compression}${p.imageSize !== null ? `, ${describeSize(p.imageSize)}` : ', size unknown until read'})`);
  if (p.bmap) events.log('info', `bmap ${p.bmapPath} (version ${p.bmap.version}, ${p.bmap.checksumType ?? 'no'} checksums)`);
  else if (!job.noBmap) events.log('warn', 'no bmap found: the whole image is written');
  if (job.mode === 'copy' && job.readback && !p.target.direct) {
    events.log('warn', `${job.target}: this filesystem refuses O_DIRECT, so readback goes through the page cache`);
  }
}

interface ExecuteContext {
  source: ImageSource;
  bmap: Bmap | null;
  imageSize: number | null;
  target: Target;
  ranges: PlannedRange[];
  state: JobState;
  blockSize: number;
  signal: AbortSignal;
}

/** Runs the copy or verify; returns the first fatal error (null when the job ran to its end). */
async function execute(job: FlashJob, ctx: ExecuteContext): Promise<ApiError | null> {
  const { state, signal } = ctx;
  const pool = new WindowPool(WINDOW_BYTES, WINDOWS, signal);
  // Start with two windows in flight and follow the device's measured speed: about 0.4 s of writing may be
  // in flight, so a slow card still stops within a second on cancel, and a fast one gets every window.
  pool.setLimit(2);
  const copyStart = performance.now();
  const followSpeed = (): void => {
    const seconds = (performance.now() - copyStart) / 1000;
    if (seconds > 0.05) pool.setLimit((state.bytesDone / seconds) * IN_FLIGHT_SECONDS / WINDOW_BYTES);
  };
  if (job.mode === 'verify' && ctx.bmap?.checksumType && ctx.ranges.every((r) => r.checksum)) {
    const slot = await pool.acquire();
    try {
      await verifyRangesByChecksum(ctx.target, ctx.ranges, ctx.bmap.checksumType, [slot.data, slot.readback], state, signal);
      return null;
    } catch (err) {
      return serializeError(err);
    }
  }
  const outstanding = new Map<number, { open: number; closed: boolean; bad: boolean }>();
  const settle = (index: number): void => {
    const r = outstanding.get(index);
    if (!r || !r.closed || r.open > 0) return;
    const final = r.bad ? 'failed' : job.mode === 'copy' && !job.readback ? 'written' : 'verified';
    state.setRangeState(index, final);
  };
  const taskContext: WindowTaskContext = {
    target: ctx.target,
    state,
    blockSize: ctx.blockSize,
    retries: job.mode === 'copy' ? job.retries : 0,
    signal,
    onWindowDone: (w, ok) => {
      const r = outstanding.get(w.range.index);
      if (!r) return;
      r.open--;
      state.addDone(w.length);
      followSpeed();
      if (ok === null) return; // abandoned on cancel: the range stays unfinished
      r.bad ||= !ok;
      r.closed ||= w.last;
      if (ok && state.rangeState(w.range.index) === 'retrying') state.setRangeState(w.range.index, 'writing');
      settle(w.range.index);
    },
  };
  const producer: ProducerOptions = {
    source: ctx.source,
    ranges: ctx.ranges,
    imageSize: ctx.imageSize,
    blockSize: ctx.blockSize,
    checksumType: job.verifySource ? (ctx.bmap?.checksumType ?? null) : null,
    pool,
    limit: ctx.target.size,
    onRangeStart: (range, discovered) => {
      if (discovered) state.addRange(range);
      outstanding.set(range.index, { open: 0, closed: false, bad: false });
      state.setRangeState(range.index, 'writing');
    },
    onRangeEnd: (range, end) => state.setRangeEnd(range.index, end, ctx.blockSize),
    onSourceTime: (ms) => {
      state.opMs.source += ms;
    },
    task: (slot, w) => {
      const r = outstanding.get(w.range.index);
      if (r) r.open++;
      return job.mode === 'copy' ? copyWindow(taskContext, slot, w, job.readback) : compareWindow(taskContext, slot, w);
    },
  };
  let error: unknown = null;
  try {
    if (ctx.source.readAt && (ctx.imageSize !== null || ctx.ranges.length > 0)) await produceFromFile(producer);
    else await produceFromStream(producer);
  } catch (err) {
    error = err;
  }
  await pool.drain();
  const fatal = pool.fatal ?? error;
  return fatal ? serializeError(fatal) : null;
}
