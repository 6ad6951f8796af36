/**
 * Runs one engine job in a worker thread and exposes it as a handle: events as callbacks, the report as a
 * promise, cancel as a method. Used by the CLI, main's flash service and the privileged helper alike.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FlashLayout, FlashProgress, FlashReport } from '../../shared/report';
import { EngineError } from './errors';
import type { FlashJob, FromWorker, LogLevel, ToWorker } from './protocol';

export interface EngineJobHandlers {
  onStarted?(layout: FlashLayout): void;
  onProgress?(progress: FlashProgress): void;
  onLog?(level: LogLevel, message: string): void;
  /** Every raw protocol message, for relays (the privileged helper forwards them unchanged). */
  onMessage?(message: FromWorker): void;
}

export interface EngineJobHandle {
  readonly seq: number;
  /** Asks the engine to stop; `done` then resolves with a report whose status is "cancelled". */
  cancel(): void;
  /** Resolves with the final report (any status); rejects only when the engine could not report. */
  readonly done: Promise<FlashReport>;
}

let nextSeq = 1;

/** Path of the built worker bundle: next to this bundle in dist/main, or dist/main from a source checkout. */
export function workerScriptPath(): string {
  const override = process.env.SUREFLASH_ENGINE_WORKER;
  if (override) return override;
  const candidates = [join(__dirname, 'engine-worker.cjs'), join(__dirname, '..', '..', '..', 'dist', 'main', 'engine-worker.cjs')];
  const found = candidates.find((file) => existsSync(file));
  if (!found) throw new EngineError('INTERNAL', 'the engine worker is not built: run `npm run build`');
  // Packaged app: worker threads cannot load scripts from inside app.asar; electron-builder unpacks it.
  return found.replace(/app\.asar([\\/])/, 'app.asar.unpacked$1');
}

export function startEngineJob(job: FlashJob, handlers: EngineJobHandlers = {}): EngineJobHandle {
  const seq = nextSeq++;
  // The engine keeps its windows outside the JS heap; a capped heap makes garbage-heavy decoders
  // (unbzip2-stream) collect early instead of growing the process by gigabytes.
  const worker = new Worker(workerScriptPath(), { resourceLimits: { maxOldGenerationSizeMb: 512 } });
  let settled = false;
  const done = new Promise<FlashReport>((resolve, reject) => {
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.on('message', (message: FromWorker) => {
      if (message.seq !== seq) return;
      handlers.onMessage?.(message);
      switch (message.type) {
        case 'started':
          handlers.onStarted?.(message.layout);
          break;
        case 'progress':
          handlers.onProgress?.(message.progress);
          break;
        case 'log':
          handlers.onLog?.(message.level, message.message);
          break;
        case 'done':
          finish(() => resolve(message.report));
          break;
        case 'error':
          finish(() => reject(new EngineError(message.error.code, message.error.message)));
          break;
      }
    });
    worker.on('error', (err) => finish(() => reject(new EngineError('INTERNAL', `engine worker crashed: ${err.message}`))));
    worker.on('exit', (code) =>
      finish(() => reject(new EngineError('INTERNAL', `engine worker exited (code ${code}) before reporting`))),
    );
  });
  const post = (message: ToWorker): void => worker.postMessage(message);
  post({ type: 'start', seq, job });
  return {
    seq,
    cancel: () => {
      if (!settled) post({ type: 'cancel', seq });
    },
    done,
  };
}
