/**
 * One engine job, in the calling thread, as one straight pipeline: the source side (image, bmap, plan) and
 * every card's pre-checks pass before the first byte is written; then the producer reads and checks the
 * image once and hands each chunk to every card's stage, which writes, flushes, reads back and retries on
 * its own; each card ends with its own report, and the job with the batch. This function only wires the
 * stages; each range's bookkeeping belongs to the card stage that owns it. The worker entry runs this; so
 * can tests.
 */
import { MAX_TARGETS } from '../../shared/api';
import type { BlockSpan, FlashLayout, FlashProgress, FlashStatus, RangeState } from '../../shared/report';
import { rangeNumber, rangeSpansAt, rangeState, RangeTableWriter, type PackedBatchReport, type PackedFlashReport, type RangeTable } from '../../shared/range-table';
import type { ApiError } from '../../shared/result';
import { ChunkPool } from './chunk/chunk-pool';
import { produceChunks, SourceMismatchError } from './chunk/chunk-producer';
import { refetcher } from './chunk/refetch';
import { SharedArena, PAGE } from './chunk/shared-arena';
import { openTarget } from './device/open-target';
import type { HelperShare } from './device/remote-target';
import type { Target } from './device/device-client';
import { EngineError, serializeError } from './errors';
import { describeSize } from './engine-format';
import { openJobSource, type JobSource } from './job-source';
import { withDownload } from './job-image';
import type { OpenedImage } from './open-image';
import { CardIo } from './lane/card-io';
import { CardStage, type CardStageResult, type FinalDesc } from './lane/card-stage';
import { LaneInput } from './lane/lane-input';
import { MARKER_BYTES } from './lane/capacity-probe';
import { MAX_MARKERS } from './lane/probe-run';
import { ProgressMeter } from './lane/progress-meter';
import { RangeBook } from './lane/range-book';
import { layoutOf, type PlannedRange } from './plan';
import { checkTargetIsNotSource } from './prechecks';
import { DEFAULT_IO_TIMEOUT_MS, type FlashJob, type LogLevel } from './protocol';
import { buildBatchReport, buildCardReport, type JobFacts } from './report-builder';

export interface JobEvents {
  started(layout: FlashLayout): void;
  progress(target: number, progress: FlashProgress): void;
  /** Card `target` finished: its report, the ranges packed (`unpackFlashReport` gives the FlashReport). */
  targetDone(target: number, report: PackedFlashReport): void;
  log(level: LogLevel, message: string): void;
  /**
   * Card `target` is to be opened through the privileged helper: start it for this rendezvous file. Settles
   * when the helper ended; rejects when it could not be started. Absent: no helper can be started here.
   */
  elevate?(target: number, file: string): Promise<void>;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const envNumber = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

/**
 * The pipeline's sizes. 2 MiB chunks and a pool of 16 (32 MiB, shared by every card); 4 readback buffers per
 * card; ranges up to 16 MiB are held until their checksum is proven; gaps up to 64 KiB between ranges are
 * read with them; the final pass re-reads the first 16 MiB and the last 32 MiB of mapped data.
 */
export function pipelineSizes(): { chunkBytes: number; chunks: number; readbackSlots: number; holdBytes: number; maxGap: number; firstBytes: number; lastBytes: number } {
  const chunkBytes = Math.max(64 * KiB, Math.floor(envNumber('SUREFLASH_CHUNK_KIB', 2048)) * KiB);
  const chunks = Math.max(4, Math.floor(envNumber('SUREFLASH_CHUNKS', 16)));
  // Holding a range back needs its chunks plus room for the cards to keep going.
  const holdBytes = Math.min(16 * MiB, Math.max(0, chunks - 3) * chunkBytes);
  return { chunkBytes, chunks, readbackSlots: 4, holdBytes, maxGap: 64 * KiB, firstBytes: 16 * MiB, lastBytes: 32 * MiB };
}

/** One card's run through the job. */
interface Card {
  index: number;
  path: string;
  target: Target | null;
  io: CardIo | null;
  book: RangeBook | null;
  meter: ProgressMeter | null;
  input: LaneInput;
  stop: AbortController;
  stage: CardStageResult | null;
  accepting: boolean;
  error: ApiError | null;
}

/** Positions in the table of the ranges whose state passes `test`. */
function rangesWhere(ranges: RangeTable, test: (state: RangeState) => boolean): number[] {
  const out: number[] = [];
  for (let at = 0; at < ranges.count; at++) if (test(rangeState(ranges, at))) out.push(at);
  return out;
}

function readbackError(card: Card, job: FlashJob, table: RangeTable): ApiError | null {
  const failed = rangesWhere(table, (s) => s === 'failed');
  if (failed.length === 0) return null;
    const spans: BlockSpan[] = failed.flatMap((at) => rangeSpansAt(table, at)?.badBlocks ?? [{ first: rangeNumber(table, at, 'first'), last: rangeNumber(table, at, 'last') }]);
  const list = spans.slice(0, 5).map((s) => (s.first === s.last ? `${s.first}` : `${s.first}-${s.last}`)).join(', ');
  const more = spans.length > 5 ? ` and ${spans.length - 5} more` : '';
  const single = spans.length === 1 && spans[0]?.first === spans[0]?.last;
  const blocks = `${single ? 'block' : 'blocks'} ${list}${more}`;
  const ranges = `range${failed.length > 1 ? 's' : ''} ${failed.map((at) => rangeNumber(table, at, 'index') + 1).join(', ')}`;
  if (job.mode === 'verify') {
    return { code: 'READBACK_MISMATCH', message: `${blocks} on ${card.path} ${single ? 'does' : 'do'} not match the image (${ranges})` };
  }
  const retries = `${job.retries} ${job.retries === 1 ? 'retry' : 'retries'}`;
  const after = job.retries > 0 ? ` after ${retries} (retries exhausted)` : ' (retry is off: more retries rewrite such blocks)';
  return { code: 'READBACK_MISMATCH', message: `${blocks} of ${card.path} did not hold the written data${after}: ${ranges}` };
}

function cardStatus(card: Card, job: FlashJob, jobError: ApiError | null, ranges: RangeTable): { status: FlashStatus; error: ApiError | null } {
  const stageError = card.error ?? (card.stage?.error ? serializeError(card.stage.error) : null);
  const error = stageError ?? (jobError && jobError.code !== 'CANCELLED' ? jobError : null);
  // Administrator rights not granted: the user stopped it before anything was written to this card.
  if (error) return { status: error.code === 'ELEVATION_REFUSED' ? 'cancelled' : 'failed', error };
  if (card.stage?.cancelled || jobError?.code === 'CANCELLED' || !card.stage) {
    return { status: 'cancelled', error: jobError?.code === 'CANCELLED' ? jobError : { code: 'CANCELLED', message: 'cancelled by the user' } };
  }
  const mismatch = readbackError(card, job, ranges);
  if (mismatch) return { status: 'failed', error: mismatch };
  // Never a verdict over ranges that did not settle: say which, rather than call the card verified.
  const good = job.mode === 'copy' && !job.readback ? 'written' : 'verified';
  const open = rangesWhere(ranges, (s) => s !== good);
  if (open.length > 0) {
    const list = open.slice(0, 5).map((at) => `${rangeNumber(ranges, at, 'index') + 1} (${rangeState(ranges, at)})`).join(', ');
    return { status: 'failed', error: { code: 'INTERNAL', message: `range${open.length > 1 ? 's' : ''} ${list}${open.length > 5 ? ' and more' : ''} on ${card.path} did not finish checking; this is a fault in Sureflash, and the card is not verified` } };
  }
  return { status: job.mode === 'copy' && !job.readback ? 'written-unverified' : 'verified', error: null };
}

function logPlan(job: FlashJob, src: JobSource, events: JobEvents): void {
  const { source, bmap, bmapPath, imageSize } = src;
  const compression = source.compression === 'none' ? 'raw' : `${source.compression}, decoded by ${source.decoder}`;
  events.log('info', `image ${src.opened.name} (${compression}${imageSize !== null ? `, ${describeSize(imageSize)}` : ', size unknown until read'})`);
  if (bmap) events.log('info', `bmap ${bmapPath} (version ${bmap.version}, ${bmap.checksumType ?? 'no'} checksums)`);
  else if (!job.noBmap) events.log('warn', 'no bmap found: the whole image is written');
}

/** Runs the job; the batch's card reports come with their ranges packed (`unpackBatchReport` unpacks them). */
export async function runJob(job: FlashJob, events: JobEvents, signal: AbortSignal, cardSignals: AbortSignal[] = []): Promise<PackedBatchReport> {
  const sizes = pipelineSizes();
  const startedAt = new Date();
  const keep: { opened?: OpenedImage } = {};
  const facts: JobFacts = { job, startedAt, source: null, imageSize: null, bmap: null, bmapPath: null, blockSize: 4096, cardsStartedAt: startedAt.getTime(), sourceMs: 0 };
  const cards: Card[] = job.targets.map((t, index) => ({
    index,
    path: t.path,
    target: null,
    io: null,
    book: null,
    meter: null,
    input: new LaneInput(),
    stop: new AbortController(),
    stage: null,
    accepting: false,
    error: null,
  }));
  const reports: (PackedFlashReport | null)[] = cards.map(() => null);
  let jobError: ApiError | null = null;

  const report = (card: Card): void => {
    if (reports[card.index]) return;
    // Each range's report, packed once per card (50,000 ranges as two arrays, not 50,000 objects).
    const ranges = card.book?.table() ?? new RangeTableWriter(0).done();
    const { status, error } = cardStatus(card, job, jobError, ranges);
    const built = buildCardReport(facts, {
      path: card.path,
      identity: job.targets[card.index]?.identity ?? null,
      info: card.target?.info ?? null,
      ranges,
      meter: card.meter,
      stage: card.stage,
      io: card.io?.stats ?? null,
      status,
      error,
    });
    reports[card.index] = built;
    card.meter?.setPhase('done');
    events.targetDone(card.index, built);
  };

  try {
    if (job.targets.length === 0) throw new EngineError('USAGE', 'no target: name at least one device or file to write');
    if (job.targets.length > MAX_TARGETS) throw new EngineError('USAGE', `at most ${MAX_TARGETS} targets at once, not ${job.targets.length}`);
    const src = await openJobSource(job, keep, signal, (level, message) => events.log(level, message));
    Object.assign(facts, { opened: src.opened, source: src.source, imageSize: src.imageSize, bmap: src.bmap, bmapPath: src.bmapPath, blockSize: src.blockSize });
    logPlan(job, src, events);
    const copy = job.mode === 'copy';
    const arena = new SharedArena(
      sizes.chunks * (sizes.chunkBytes + PAGE) + cards.length * (sizes.readbackSlots * (sizes.chunkBytes + PAGE) + MAX_MARKERS * MARKER_BYTES + 2 * PAGE),
    );
    const pool = new ChunkPool(arena, sizes.chunks, sizes.chunkBytes);

    // Every card's pre-checks, before the first byte is written to any of them. A card that fails them
    // drops out with its own report; the others go on.
    const seen = new Map<string, number>();
    // The job's elevated drives share one helper (one password prompt), which goes once they are all open.
    // The helper's side (remote-target, and with it zod) is loaded only for a job that has such a drive.
    const helpers: HelperShare | null = job.targets.some((t) => t.elevated) ? new (await import('./device/remote-target')).HelperShare() : null;
    for (const card of cards) {
      try {
        // Only writing can destroy the image; verify reads the target and may compare a file with itself.
        if (copy) await checkTargetIsNotSource(job.image, src.bmapPath, card.path);
        const pin = job.targets[card.index]?.elevated ?? null;
        const elevate = (file: string): Promise<void> =>
          events.elevate?.(card.index, file) ?? Promise.reject(new EngineError('PERMISSION_DENIED', `no administrator helper can be started for ${card.path} here: run as root`));
        card.target = await openTarget(card.path, {
          mode: job.mode,
          imageSize: src.imageSize,
          requireBlockDevice: job.requireBlockDevice,
          arena,
          timeoutMs: job.ioTimeoutMs ?? DEFAULT_IO_TIMEOUT_MS,
          elevated: pin ? { pin, elevate, io: job.targets[card.index]?.elevatedIo ?? 'descriptor', ...(helpers ? { share: helpers } : {}) } : null,
          signal,
        });
        const key = card.target.info.rdev !== null ? `dev:${card.target.info.rdev}` : `path:${card.path}`;
        const twin = seen.get(key);
        if (twin !== undefined) throw new EngineError('USAGE', `${card.path} is the same target as ${cards[twin]?.path}: name each card once`);
        seen.set(key, card.index);
        if (card.target.info.elevated === 'descriptor') {
          events.log('info', `${card.path}: the administrator helper opened the drive and handed it over; this process writes and reads it back directly`);
        } else if (card.target.info.elevated === 'served') {
          events.log('info', `${card.path}: the administrator helper serves the drive's I/O (every batch crosses to it: slower than a drive handed over)`);
        }
        if (copy && job.readback && !card.target.info.direct) {
          events.log('warn', `${card.path}: this filesystem refuses O_DIRECT, so readback goes through the page cache`);
        }
      } catch (err) {
        card.error = serializeError(err);
      }
    }
    await helpers?.close();
    const ready = cards.filter((c) => c.target && !c.error);
    for (const c of cards) if (c.error && c.target) await c.target.close();
    events.started(layoutOf(src.ranges, src.imageSize, src.blockSize, job.rangeChanges !== false));
    facts.cardsStartedAt = Date.now();
    for (const c of cards) if (!ready.includes(c)) report(c);
    if (ready.length === 0) throw new EngineError(cards[0]?.error?.code ?? 'INTERNAL', cards[0]?.error?.message ?? 'no card could be opened');

    const totalMapped = src.grow ? null : src.ranges.reduce((n, r) => n + (r.end - r.start), 0);
    let producedLength: number | null = src.imageSize;
    let producedMapped = 0;
    const refetch = refetcher(src.source, pool);
    const trimFinalSet = (descs: FinalDesc[]): FinalDesc[] => {
      if (totalMapped !== null) return descs;
      return descs.filter((d) => d.mapped < sizes.firstBytes || d.mapped + (d.plan.end - d.plan.start) > producedMapped - sizes.lastBytes);
    };
    const regions = new Map<number, { readback: ReturnType<SharedArena['alloc']>[]; markers: ReturnType<SharedArena['alloc']>; page: ReturnType<SharedArena['alloc']> }>();
    for (const card of ready) {
      regions.set(card.index, {
        readback: Array.from({ length: sizes.readbackSlots }, () => arena.alloc(sizes.chunkBytes + PAGE)),
        markers: arena.alloc(MAX_MARKERS * MARKER_BYTES),
        page: arena.alloc(PAGE),
      });
    }
    const stages = ready.map((card) => {
      const target = card.target as Target;
      const region = regions.get(card.index) as NonNullable<ReturnType<typeof regions.get>>;
      card.io = new CardIo(target, region.page);
      card.book = new RangeBook(src.ranges, copy && !job.readback ? 'written' : 'verified', job.rangeChanges !== false);
      card.meter = new ProgressMeter(card.book, (p) => events.progress(card.index, withDownload(p, src.opened)));
      card.meter.bytesTotal = src.ranges.reduce((n, r) => n + (r.end - r.start), 0);
      card.accepting = true;
      const laneSignal = AbortSignal.any([signal, card.stop.signal, ...(cardSignals[card.index] ? [cardSignals[card.index] as AbortSignal] : [])]);
      laneSignal.addEventListener('abort', () => card.input.wake(), { once: true });
      const stage = new CardStage({
        io: card.io,
        pool,
        input: card.input,
        readbackSlots: region.readback,
        markerRegion: region.markers,
        mode: job.mode,
        readback: job.readback,
        retries: copy ? job.retries : 0,
        skipIdentical: copy && (job.skipIdentical ?? false),
        probe: copy && (job.probe ?? true) && target.info.kind === 'block-device' && src.imageSize !== null ? { ranges: src.ranges, imageSize: src.imageSize } : null,
        blockSize: src.blockSize,
        book: card.book,
        meter: card.meter,
        signal: laneSignal,
        fileLength: () => producedLength,
        refetch,
        trimFinalSet,
        firstWindow: sizes.firstBytes,
        log: (level, message) => events.log(level, message),
      });
      return stage.run().then(async (result) => {
        card.accepting = false;
        card.stage = result;
        await target.close();
        report(card);
      });
    });
    pool.onPressure(() => ready.forEach((c) => c.input.wake()));

    const producerStop = new AbortController();
    let noCardsLeft = false;
    try {
      const produced = await produceChunks({
        source: src.source,
        ranges: src.ranges,
        grow: src.grow ? { make: src.grow.make, limit: Math.min(...ready.map((c) => c.target?.info.size ?? Number.MAX_SAFE_INTEGER)) } : null,
        imageSize: src.imageSize,
        checksumType: job.verifySource ? (src.bmap?.checksumType ?? null) : null,
        pool,
        maxGap: sizes.maxGap,
        holdBytes: sizes.holdBytes,
        finalSet: { firstBytes: sizes.firstBytes, lastBytes: sizes.lastBytes, totalMapped },
        signal: AbortSignal.any([signal, producerStop.signal]),
        emit: (chunk) => {
          const active = ready.filter((c) => c.accepting && !c.input.closed);
          if (active.length === 0) {
            pool.release(chunk.slot);
            noCardsLeft = true;
            producerStop.abort();
            return;
          }
          producedMapped += chunk.pieces.reduce((n, p) => n + p.length, 0);
          pool.retain(chunk.slot, active.length - 1);
          for (const c of active) c.input.push(chunk);
        },
        onRangeAdded: (range) => {
          for (const c of ready) {
            c.book?.add(range);
            if (c.meter) c.meter.bytesTotal += range.end - range.start;
          }
        },
        onRangeTrimmed: (range: PlannedRange, end) => {
          range.last = Math.max(range.first, Math.ceil(end / src.blockSize) - 1);
          const total = src.ranges.reduce((n, r) => n + (r.end - r.start), 0);
          for (const c of ready) {
            c.book?.trim(range);
            if (c.meter) c.meter.bytesTotal = total;
          }
        },
        onSourceTime: (ms) => {
          facts.sourceMs += ms;
        },
      });
      producedLength = src.imageSize ?? produced;
      for (const c of ready) c.input.end();
    } catch (err) {
      if (!(noCardsLeft && err instanceof EngineError && err.code === 'CANCELLED')) {
        jobError = serializeError(err);
        if (err instanceof SourceMismatchError) for (const c of ready) c.book?.sourceMismatch(err.range);
        pool.fail(err);
        for (const c of ready) c.stop.abort();
      }
      for (const c of ready) c.input.end();
    }
    await Promise.all(stages);
  } catch (err) {
    jobError ??= serializeError(err);
  } finally {
    for (const c of cards) if (c.target && !reports[c.index]) await c.target.close().catch(() => undefined);
    await keep.opened?.close().catch(() => undefined);
  }
  for (const c of cards) report(c);
  return buildBatchReport(facts, reports.filter((r): r is PackedFlashReport => r !== null));
}
