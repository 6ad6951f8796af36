/**
 * The flash service: main's policy gate and job bookkeeping. It re-enumerates drives, refuses anything main
 * did not list or the drive rules do not allow, pins each drive this process cannot write (device number,
 * size, identity) before the user confirms, unmounts the targets and hands a validated FlashJob to the
 * engine worker. A pinned card is opened through the privileged helper: when the engine asks, this service
 * starts the helper for it (the OS password prompt), and the helper serves that one drive's block I/O to
 * the engine. It never touches bytes itself.
 */
import { randomUUID } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import type { DriveInfo, FlashEvent, FlashRequest, ImageInfo } from '../../shared/api';
import type { CardIdentity } from '../../shared/card-identity';
import { reportIdentityOf } from '../../shared/identity';
import { checkFlashAllowed } from '../../shared/drive-rules';
import type { BatchReport, FlashReport } from '../../shared/report';
import { rereadFingerprint } from '../../shared/flash-outcome';
import type { ApiError } from '../../shared/result';
import { isErrorCode } from '../../shared/errors';
import { EngineError } from '../engine/errors';
import type { ImageCacheOptions } from '../engine/image-options';
import type { DevicePin } from '../engine/device/device-pin';
import type { FlashJob } from '../engine/protocol';
import { isHttpUrl } from '../engine/source/http/url-parts';
import type { EngineJobHandlers } from '../engine/worker-client';
import type { FlashHistory } from '../history/flash-recorder';
import type { FlashService, SettingsService } from './types';

/** A running engine job. */
export interface EngineRun {
  /** Cancels the whole job, or only card `target` (its index in job.targets). */
  cancel(target?: number): void;
  /** Resolves with the batch report (any status); rejects with a coded error when no report came. */
  readonly done: Promise<BatchReport>;
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
  /** The pin of a drive to be served by the privileged helper (what it is now, before the user confirms). */
  pinDrive(device: string, mode: 'copy' | 'verify'): Promise<DevicePin>;
  /** Starts the privileged helper for a rendezvous file the engine wrote; settles when the helper ended. */
  elevate(file: string): Promise<void>;
  /** Starts the engine worker. */
  runEngine: EngineRunner;
  /**
   * Main's own confirmation, after every check passed and before anything is touched (the Electron shell
   * shows a native dialog naming the drives): the renderer cannot confirm on the user's behalf.
   */
  confirm?(drives: DriveInfo[], image: ImageInfo, mode: 'copy' | 'verify'): Promise<boolean>;
  /** Longest a card may take to answer one operation (default: the engine's 30 s). */
  ioTimeoutMs?: number;
  /**
   * The flash history: every card a copy job wrote is recorded with its health verdict. A failing write
   * is logged and changes no verdict. Absent or null: nothing is recorded.
   */
  history?: FlashHistory | null;
  /** Who the card in `device` is (sysfs, and its content fingerprint when `fingerprint`); null when unknown. */
  identify?(device: string, fingerprint: boolean): Promise<CardIdentity | null>;
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
export function buildFlashJob(request: FlashRequest, drives: DriveInfo[], cache: ImageCacheOptions | null = null): FlashJob {
  const job: FlashJob = {
    mode: request.mode ?? 'copy',
    image: request.imagePath,
    targets: drives.map((d) => ({ path: d.raw, identity: d.identity ?? null })),
    readback: request.readback,
    verifySource: true,
    retries: request.retries,
    skipIdentical: request.skipIdentical ?? false,
    probe: request.probe ?? true,
    decoder: 'auto',
    requireBlockDevice: true,
  };
  if (request.bmapPath === null) job.noBmap = true;
  else if (typeof request.bmapPath === 'string') job.bmapPath = request.bmapPath;
  if (cache && isHttpUrl(request.imagePath)) job.cache = cache;
  return job;
}

export function createFlashService(deps: FlashServiceDeps): FlashService & { busyDevices(): string[] } {
  const listeners = new Set<(event: FlashEvent) => void>();
  const running = new Map<string, { devices: string[]; run: EngineRun | null; cancelled: Set<number | 'all'> }>();
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

  const release = (jobId: string, drives: DriveInfo[]): void => {
    running.delete(jobId);
    for (const d of drives) busy.delete(d.device);
  };

  const finish = async (jobId: string, drives: DriveInfo[], run: EngineRun, cardsDone: Promise<FlashReport>[]): Promise<void> => {
    try {
      const engineReport = await run.done;
      // Every card's own end (eject, target-done) comes before the job's; the batch carries what main added.
      const cards = await Promise.all(cardsDone);
      const report = cards.length === engineReport.cards.length ? { ...engineReport, cards } : engineReport;
      keepReport(jobId, report);
      emit({ type: 'done', jobId, report });
    } catch (err) {
      emit({ type: 'error', jobId, error: toApiError(err) });
    } finally {
      release(jobId, drives);
    }
  };

  /** Records a card a copy job wrote, before it is ejected (its fingerprint is read from the device). */
  const record = async (jobId: string, drive: DriveInfo, report: FlashReport, taken: CardIdentity | null, speeds: number[]): Promise<void> => {
    if (!deps.history || report.mode !== 'copy') return;
    let identity = taken;
    // A card known only by its content is recorded under what it holds now, so it is found again next time.
    if (deps.identify && rereadFingerprint(report, identity?.idSource)) {
      identity = (await deps.identify(drive.device, true).catch(() => null)) ?? identity;
    }
    const done = deps.history.record({ report, identity, sessionId: null, station: null, batchSpeeds: [...speeds] });
    if (done.outcome.writeSpeed !== null) speeds.push(done.outcome.writeSpeed);
    if (done.error) deps.log?.('warn', `[${jobId}] ${drive.device}: ${done.error}`);
    else deps.log?.('info', `[${jobId}] ${drive.device}: recorded in the history (health ${done.health.verdict})`);
  };

  const onCardDone = async (jobId: string, drive: DriveInfo, report: FlashReport, taken: CardIdentity | null, speeds: number[]): Promise<FlashReport> => {
    try {
      await record(jobId, drive, report, taken, speeds);
    } catch (err) {
      deps.log?.('warn', `[${jobId}] ${drive.device}: the flash was not recorded in the history: ${err instanceof Error ? err.message : String(err)}`);
    }
    let card = report;
    if (report.status === 'verified' && report.mode === 'copy' && (await deps.settings.get()).eject) {
      const ejected = await deps.eject(drive).then(
        () => true,
        (err: unknown) => {
          deps.log?.('warn', `eject of ${drive.device} failed: ${toApiError(err).message}`);
          return false;
        },
      );
      card = { ...report, target: { ...report.target, ejected } };
    }
    emit({ type: 'target-done', jobId, device: drive.device, report: card });
    return card;
  };

  const start = async (request: FlashRequest): Promise<{ jobId: string }> => {
    const all = await deps.listDrives();
    if (request.devices.length === 0) throw new EngineError('USAGE', 'Choose a drive to flash.');
    const drives = request.devices.map((device) => {
      const drive = all.find((d) => d.device === device || d.raw === device);
      if (!drive) throw new EngineError('TARGET_NOT_ALLOWED', `${device} is not a drive Sureflash listed. Pick a drive from the list.`);
      return drive;
    });
    for (const d of drives) if (busy.has(d.device)) throw new EngineError('TARGET_BUSY', `${d.device} is already being flashed. Wait for that job to finish.`);
    for (const d of drives) busy.add(d.device);
    const jobId = randomUUID();
    const entry = { devices: drives.map((d) => d.device), run: null as EngineRun | null, cancelled: new Set<number | 'all'>() };
    running.set(jobId, entry);
    const mode = request.mode ?? 'copy';
    try {
      // Judge (and flash) the file the path really names: a symlink must not hide that the image lives on the target.
      const imagePath = isHttpUrl(request.imagePath) ? request.imagePath : await realpath(request.imagePath).catch(() => request.imagePath);
      const image = await deps.probeImage(imagePath);
      for (const drive of drives) {
        const allowed = checkFlashAllowed(drive, { imageSize: image.imageSize, imagePath, showHidden: true, allDrives: all }, request.acknowledged);
        if (!allowed.ok && !(mode === 'verify' && allowed.code === 'TARGET_READ_ONLY')) throw new EngineError(allowed.code, allowed.message);
      }
      // Drives this process cannot write are served by the helper, pinned to what they are now, as confirmed.
      const writable = await Promise.all(drives.map((d) => (mode === 'verify' ? Promise.resolve(true) : deps.canWrite(d.raw))));
      const pins = await Promise.all(drives.map((d, i) => (writable[i] ? null : deps.pinDrive(d.raw, mode))));
      pins.forEach((pin, i) => {
        const drive = drives[i] as DriveInfo;
        if (pin && drive.size !== null && pin.size !== drive.size) {
          throw new EngineError('TARGET_CHANGED', `${drive.device} is not the drive that was listed (its size changed): list the drives again.`);
        }
      });
      if (deps.confirm && !(await deps.confirm(drives, image, mode))) {
        throw new EngineError('NOT_CONFIRMED', `Not confirmed: nothing was written to ${drives.map((d) => d.device).join(', ')}.`);
      }
      for (const drive of drives) await deps.unmount(drive);
      // Who each card is, read before it is written (the report carries it; the history records it).
      const taken = await Promise.all(drives.map((d) => (deps.identify && mode === 'copy' ? deps.identify(d.device, true).catch(() => null) : Promise.resolve(null))));
      const identified = drives.map((d, i) => {
        const identity = taken[i];
        return d.identity || !identity ? d : { ...d, identity: reportIdentityOf(identity) };
      });
      const speeds: number[] = [];
      const job = buildFlashJob({ ...request, imagePath }, identified, (await deps.cacheOptions?.()) ?? null);
      if (deps.ioTimeoutMs !== undefined) job.ioTimeoutMs = deps.ioTimeoutMs;
      job.targets.forEach((t, i) => {
        if (pins[i]) t.elevated = pins[i];
      });
      const cardsDone: Promise<FlashReport>[] = [];
      const run = deps.runEngine(job, {
        onElevate: (target, file) => {
          if (!pins[target]) return Promise.reject(new EngineError('TARGET_NOT_ALLOWED', `card ${target + 1} was not to be served by the helper`));
          return deps.elevate(file);
        },
        onStarted: (layout) =>
          emit({
            type: 'started',
            jobId,
            layout,
            targets: identified.map((d) => ({ device: d.device, description: d.description, size: d.size, identity: d.identity ?? null })),
          }),
        onProgress: (target, progress) => {
          const drive = drives[target];
          if (drive) emit({ type: 'progress', jobId, device: drive.device, progress });
        },
        onTargetDone: (target, report) => {
          const drive = drives[target];
          if (drive) cardsDone.push(onCardDone(jobId, drive, report, taken[target] ?? null, speeds));
        },
        onLog: (level, message) => {
          if (level !== 'debug') deps.log?.(level === 'info' ? 'info' : level, `[${jobId}] ${message}`);
        },
      });
      entry.run = run;
      for (const c of entry.cancelled) run.cancel(c === 'all' ? undefined : c);
      void finish(jobId, drives, run, cardsDone);
      return { jobId };
    } catch (err) {
      release(jobId, drives);
      throw err;
    }
  };

  return {
    start,
    cancel: (jobId, device) => {
      const entry = running.get(jobId);
      if (!entry) return;
      const index = device === undefined ? undefined : entry.devices.indexOf(device);
      if (index === -1) return;
      entry.cancelled.add(index ?? 'all');
      entry.run?.cancel(index);
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
