/**
 * The flash service: main's policy gate and job bookkeeping. It re-enumerates drives, refuses anything main
 * did not list or the drive rules do not allow, unmounts the target and hands a validated FlashJob to the
 * engine (in-process worker when this process can write the device, else the elevated helper). It never
 * touches bytes itself.
 */
import { randomUUID } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import type { DriveInfo, FlashEvent, FlashRequest, ImageInfo } from '../../shared/api';
import { checkFlashAllowed } from '../../shared/drive-rules';
import { batchStatus, batchSummary, REPORT_VERSION, type BatchReport, type FlashReport } from '../../shared/report';
import { VERSION } from '../version';
import type { ApiError } from '../../shared/result';
import { isErrorCode } from '../../shared/errors';
import { EngineError } from '../engine/errors';
import type { ImageCacheOptions } from '../engine/image-options';
import type { FlashJob } from '../engine/protocol';
import { isHttpUrl } from '../engine/source/http/url-parts';
import type { EngineJobHandlers } from '../engine/worker-client';
import type { FlashService, SettingsService } from './types';

/** A running engine job, wherever it runs (worker thread or elevated helper). */
export interface EngineRun {
  cancel(): void;
  /** Resolves with the final report (any status); rejects with a coded error when no report came. */
  readonly done: Promise<FlashReport>;
}

export type EngineRunner = (job: FlashJob, handlers: EngineJobHandlers) => EngineRun;

export interface FlashServiceDeps {
  /** A fresh enumeration (never a cache): what main lists is all that may be flashed. */
  listDrives(): Promise<DriveInfo[]>;
  probeImage(path: string): Promise<ImageInfo>;
  /** The download cache for URL images under the current settings (absent or null: off). */
  cacheOptions?(): Promise<ImageCacheOptions | null>;
  unmount(drive: DriveInfo): Promise<void>;
  eject(drive: DriveInfo): Promise<void>;
  settings: SettingsService;
  /** True when this process may open the device for writing (no elevation needed). */
  canWrite(device: string): Promise<boolean>;
  runInProcess: EngineRunner;
  runElevated: EngineRunner;
  /**
   * Main's own confirmation, after every check passed and before anything is touched (the Electron shell
   * shows a native dialog naming the drive): the renderer cannot confirm on the user's behalf.
   */
  confirm?(drive: DriveInfo, image: ImageInfo): Promise<boolean>;
  log?(level: 'info' | 'warn' | 'error', message: string): void;
}

/** How many finished reports are kept for "Save report". */
const KEPT_REPORTS = 16;

function toApiError(err: unknown): ApiError {
  if (err instanceof EngineError) return { code: err.code, message: err.message };
  if (err instanceof Error && 'code' in err && isErrorCode(err.code)) return { code: err.code, message: err.message };
  return { code: 'INTERNAL', message: `The flash stopped unexpectedly: ${err instanceof Error ? err.message : String(err)}` };
}

/** The job handed to the engine for a request that passed every check. */
export function buildFlashJob(request: FlashRequest, drive: DriveInfo, cache: ImageCacheOptions | null = null): FlashJob {
  const job: FlashJob = {
    mode: request.mode ?? 'copy',
    image: request.imagePath,
    target: drive.raw,
    readback: request.readback,
    verifySource: true,
    retries: request.retries,
    decoder: 'auto',
    requireBlockDevice: true,
  };
  if (request.bmapPath === null) job.noBmap = true;
  else if (typeof request.bmapPath === 'string') job.bmapPath = request.bmapPath;
  if (cache && isHttpUrl(request.imagePath)) job.cache = cache;
  return job;
}

/** The batch report around the card reports of one job. */
export function batchOf(cards: FlashReport[]): BatchReport {
  const first = cards[0];
  const now = new Date().toISOString();
  return {
    version: REPORT_VERSION,
    kind: 'batch',
    tool: { name: 'sureflash', version: VERSION },
    mode: first?.mode ?? 'copy',
    startedAt: cards.map((c) => c.startedAt).sort()[0] ?? now,
    finishedAt: now,
    image: first?.image ?? { path: '', size: null, imageSize: null, compression: 'none', decoder: 'none' },
    bmap: first?.bmap ?? null,
    status: batchStatus(cards),
    cards,
    summary: batchSummary(cards),
  };
}

export function createFlashService(deps: FlashServiceDeps): FlashService & { busyDevices(): string[] } {
  const listeners = new Set<(event: FlashEvent) => void>();
  const running = new Map<string, { device: string; run: EngineRun | null; cancelled: boolean }>();
  const busy = new Set<string>();
  const reports = new Map<string, BatchReport>();

  const emit = (event: FlashEvent): void => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (err) {
        deps.log?.('error', `flash event listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };

  const keepReport = (jobId: string, report: BatchReport): void => {
    reports.set(jobId, report);
    while (reports.size > KEPT_REPORTS) reports.delete(reports.keys().next().value as string);
  };

  const finish = async (jobId: string, drive: DriveInfo, run: EngineRun): Promise<void> => {
    try {
      const report = await run.done;
      if (report.status === 'verified' && (await deps.settings.get()).eject) {
        await deps.eject(drive).catch((err: unknown) => deps.log?.('warn', `eject of ${drive.device} failed: ${toApiError(err).message}`));
      }
      emit({ type: 'target-done', jobId, device: drive.device, report });
      const batch = batchOf([report]);
      keepReport(jobId, batch);
      emit({ type: 'done', jobId, report: batch });
    } catch (err) {
      emit({ type: 'error', jobId, error: toApiError(err) });
    } finally {
      running.delete(jobId);
      busy.delete(drive.device);
    }
  };

  const start = async (request: FlashRequest): Promise<{ jobId: string }> => {
    const drives = await deps.listDrives();
    const [device, ...others] = request.devices;
    if (device === undefined) throw new EngineError('USAGE', 'Choose a drive to flash.');
    if (others.length > 0) throw new EngineError('USAGE', 'Flashing several drives at once is not available in this version yet: choose one drive.');
    const drive = drives.find((d) => d.device === device || d.raw === device);
    if (!drive) {
      throw new EngineError('TARGET_NOT_ALLOWED', `${device} is not a drive Sureflash listed. Pick a drive from the list.`);
    }
    if (busy.has(drive.device)) throw new EngineError('TARGET_BUSY', `${drive.device} is already being flashed. Wait for that job to finish.`);
    busy.add(drive.device);
    const jobId = randomUUID();
    const entry = { device: drive.device, run: null as EngineRun | null, cancelled: false };
    running.set(jobId, entry);
    try {
      // Judge (and flash) the file the path really names: a symlink must not hide that the image lives on the target.
      const imagePath = isHttpUrl(request.imagePath) ? request.imagePath : await realpath(request.imagePath).catch(() => request.imagePath);
      const image = await deps.probeImage(imagePath);
      const allowed = checkFlashAllowed(
        drive,
        { imageSize: image.imageSize, imagePath, showHidden: true, allDrives: drives },
        request.acknowledged,
      );
      if (!allowed.ok) throw new EngineError(allowed.code, allowed.message);
      if (deps.confirm && !(await deps.confirm(drive, image))) {
        throw new EngineError('CANCELLED', `Not confirmed: nothing was written to ${drive.device}.`);
      }
      await deps.unmount(drive);
      const job = buildFlashJob({ ...request, imagePath }, drive, (await deps.cacheOptions?.()) ?? null);
      const runner = (await deps.canWrite(drive.raw)) ? deps.runInProcess : deps.runElevated;
      const run = runner(job, {
        onStarted: (layout) =>
          emit({
            type: 'started',
            jobId,
            layout,
            targets: [{ device: drive.device, description: drive.description, size: drive.size, identity: drive.identity ?? null }],
          }),
        onProgress: (progress) => emit({ type: 'progress', jobId, device: drive.device, progress }),
        onLog: (level, message) => {
          if (level !== 'debug') deps.log?.(level === 'info' ? 'info' : level, `[${jobId}] ${message}`);
        },
      });
      entry.run = run;
      if (entry.cancelled) run.cancel();
      void finish(jobId, drive, run);
      return { jobId };
    } catch (err) {
      running.delete(jobId);
      busy.delete(drive.device);
      throw err;
    }
  };

  return {
    start,
    cancel: (jobId, _device) => {
      const entry = running.get(jobId);
      if (!entry) return;
      entry.cancelled = true;
      entry.run?.cancel();
    },
    report: (jobId) => reports.get(jobId) ?? null,
    subscribe: (listener) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    busyDevices: () => [...busy],
    running: () => [...running.keys()],
  };
}
