/**
 * The image probe as main calls it: `probeImage` runs the probe (image format and size, bmap read, parsed
 * and checked) in a worker thread, so a large or hostile bmap never blocks main's event loop, and ends that
 * thread when the caller aborts or the probe takes longer than its time limit.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ImageInfo } from '../../shared/api';
import { EngineError } from './errors';
import type { SerializedError } from './protocol';
import { probeImageInThread, type ProbeOptions } from './probe-image';

export { NO_BMAP_WARNING, NO_CHECKSUMS_WARNING, NOT_A_DISK_WARNING, probeImageInThread, type ProbeOptions } from './probe-image';

/** What the worker is asked: one image. */
export interface ProbeRequest {
  path: string;
  options: Omit<ProbeOptions, 'signal'>;
}

/** What the worker answers, once. */
export type ProbeReply = { ok: true; info: ImageInfo } | { ok: false; error: SerializedError };

export interface ProbeRunOptions extends ProbeOptions {
  /** Longest the probe may take before its worker is ended (default PROBE_TIMEOUT_MS). */
  timeoutMs?: number;
}

/** A probe reads headers and at most a bmap of 64 MiB: a minute is far more than it needs. */
export const PROBE_TIMEOUT_MS = 60_000;

/** Probe workers running now (tests check that none is left behind). */
export const runningProbeWorkers = new Set<Worker>();

/** Path of the built probe worker: next to this bundle in dist/main, or dist/main from a source checkout. */
export function probeWorkerPath(): string {
  const override = process.env.SUREFLASH_PROBE_WORKER;
  if (override) return override;
  const candidates = [join(__dirname, 'probe-worker.cjs'), join(__dirname, '..', '..', '..', 'dist', 'main', 'probe-worker.cjs')];
  const found = candidates.find((file) => existsSync(file));
  if (!found) throw new EngineError('INTERNAL', 'the probe worker is not built: run `npm run build`');
  // Packaged app: worker threads cannot load scripts from inside app.asar; electron-builder unpacks it.
  return found.replace(/app\.asar([\\/])/, 'app.asar.unpacked$1');
}

/**
 * Probes `path` in a worker thread (see probeImageInThread for what it returns and throws). Rejects with
 * CANCELLED when `signal` aborts and IMAGE_UNREADABLE when the time limit passes; either way the worker
 * is ended at once. The promise settles only after the worker thread has exited.
 */
export function probeImage(path: string, opts: ProbeRunOptions = {}): Promise<ImageInfo> {
  const { signal, timeoutMs = PROBE_TIMEOUT_MS, ...options } = opts;
  if (signal?.aborted) return Promise.reject(new EngineError('CANCELLED', `The probe of ${path} was cancelled.`));
  // Test hooks for the HTTP client cannot cross to a worker: such a probe runs here.
  if (options.http) return probeImageInThread(path, { ...options, ...(signal ? { signal } : {}) });
  const worker = new Worker(probeWorkerPath(), { resourceLimits: { maxOldGenerationSizeMb: 1024 } });
  runningProbeWorkers.add(worker);
  return new Promise<ImageInfo>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Settles once the thread is gone, so nothing of this probe is left running afterwards.
      const done = (): void => {
        runningProbeWorkers.delete(worker);
        fn();
      };
      worker.terminate().then(done, done);
    };
    const onAbort = (): void => finish(() => reject(new EngineError('CANCELLED', `The probe of ${path} was cancelled.`)));
    const timer = setTimeout(
      () => finish(() => reject(new EngineError('IMAGE_UNREADABLE', `Reading ${path} took longer than ${Math.round(timeoutMs / 1000)} s and was stopped: is the file on a drive that stopped answering?`))),
      timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (reply: ProbeReply) =>
      finish(() => (reply.ok ? resolve(reply.info) : reject(new EngineError(reply.error.code, reply.error.message)))),
    );
    worker.once('error', (err) => finish(() => reject(new EngineError('INTERNAL', `the probe worker crashed: ${err.message}`))));
    worker.once('exit', (code) => finish(() => reject(new EngineError('INTERNAL', `the probe worker exited (code ${code}) before answering`))));
    const request: ProbeRequest = { path, options };
    worker.postMessage(request);
  });
}
