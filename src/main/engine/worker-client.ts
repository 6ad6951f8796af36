/**
 * Runs one engine job in a worker thread and exposes it as a handle: events as callbacks, the batch report
 * as a promise, cancel (of the job, or of one card) as a method. Used by the CLI and main's flash service.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { unpackFlashReport, type PackedBatchReport, type PackedFlashReport } from '../../shared/range-table';
import type { BatchReport, FlashLayout, FlashProgress, FlashReport } from '../../shared/report';
import { EngineError, serializeError, type SerializedError } from './errors';
import type { FlashJob, FromWorker, LogLevel, ToWorker } from './protocol';

export interface EngineJobHandlers {
  onStarted?(layout: FlashLayout): void;
  /** Progress of card `target` (its index in job.targets). */
  onProgress?(target: number, progress: FlashProgress): void;
  /** Card `target` finished; the others may go on. */
  onTargetDone?(target: number, report: FlashReport): void;
  onLog?(level: LogLevel, message: string): void;
  /** Every raw protocol message, for relays. */
  onMessage?(message: FromWorker): void;
  /**
   * Card `target` is to be served by the privileged helper: start it (with administrator rights) for this
   * rendezvous file. Settles when the helper ended; rejects when it could not be started. Without this
   * handler such a card fails with PERMISSION_DENIED.
   */
  onElevate?(target: number, file: string): Promise<void>;
}

export interface EngineJobHandle {
  readonly seq: number;
  /** Asks the engine to stop the whole job, or only card `target`; their reports then say "cancelled". */
  cancel(target?: number): void;
  /**
   * Resolves with the batch report (any status); rejects only when the engine could not report. Its ranges
   * are unpacked into objects when this is first read.
   */
  readonly done: Promise<BatchReport>;
  /**
   * The same batch with each card's ranges still packed (shared/range-table.ts), for a caller that writes
   * them out without holding one object per range (the CLI).
   */
  readonly packed: Promise<PackedBatchReport>;
}

let nextSeq = 1;

/** Path of the built worker bundle: next to this bundle in dist/main, or dist/main from a source checkout. */
export function workerScriptPath(): string {
  const candidates = [join(__dirname, 'engine-worker.cjs'), join(__dirname, '..', '..', '..', 'dist', 'main', 'engine-worker.cjs')];
  const found = candidates.find((file) => existsSync(file));
  if (!found) throw new EngineError('INTERNAL', 'the engine worker is not built: run `npm run build`');
  // Packaged app: worker threads cannot load scripts from inside app.asar; electron-builder unpacks it.
  return found.replace(/app\.asar([\\/])/, 'app.asar.unpacked$1');
}

export function startEngineJob(job: FlashJob, handlers: EngineJobHandlers = {}): EngineJobHandle {
  const seq = nextSeq++;
  // The engine keeps its chunks outside the JS heap; a capped heap makes garbage-heavy decoders
  // (unbzip2-stream) collect early instead of growing the process by gigabytes. A small young generation:
  // progress events and range records are short-lived garbage, and V8's default (up to 48 MB) only grew
  // the process (a bmap of 50,000 ranges: 40 MB more peak RSS, no faster).
  const worker = new Worker(workerScriptPath(), { resourceLimits: { maxOldGenerationSizeMb: 512, maxYoungGenerationSizeMb: 8 } });
  let settled = false;
  /** Each card's report as its 'target-done' brought it; the batch at 'done' refers to them. */
  const received = new Map<number, PackedFlashReport>();
  /** Each card's report unpacked once: the batch holds the very object 'onTargetDone' was given. */
  const unpacked = new WeakMap<PackedFlashReport, FlashReport>();
  const unpack = (report: PackedFlashReport): FlashReport => {
    let out = unpacked.get(report);
    if (!out) unpacked.set(report, (out = unpackFlashReport(report)));
    return out;
  };
  const packed = new Promise<PackedBatchReport>((resolve, reject) => {
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
          handlers.onProgress?.(message.target, message.progress);
          break;
        case 'target-done':
          received.set(message.target, message.report);
          if (handlers.onTargetDone) handlers.onTargetDone(message.target, unpack(message.report));
          break;
        case 'log':
          handlers.onLog?.(message.level, message.message);
          break;
        case 'elevate': {
          const ended = (error?: SerializedError): void => {
            if (!settled) post(error ? { type: 'helper-ended', seq, target: message.target, error } : { type: 'helper-ended', seq, target: message.target });
          };
          const started = handlers.onElevate?.(message.target, message.file) ?? Promise.reject(new EngineError('PERMISSION_DENIED', 'no administrator helper can be started here: run as root'));
          started.then(() => ended(), (err: unknown) => ended(serializeError(err)));
          break;
        }
        case 'done': {
          const cards = message.cards.map((ref) => ('report' in ref ? ref.report : received.get(ref.target)));
          const missing = cards.findIndex((c) => c === undefined);
          if (missing >= 0) {
            finish(() => reject(new EngineError('INTERNAL', `the engine's batch names the report of card ${missing + 1}, which never arrived`)));
            break;
          }
          // The batch's fields in their usual order: the cards come before the summary.
          const { summary, ...head } = message.report;
          finish(() => resolve({ ...head, cards: cards as PackedFlashReport[], summary }));
          break;
        }
        case 'error':
          finish(() => reject(new EngineError(message.error.code, message.error.message)));
          break;
      }
    });
    worker.on('error', (err) => finish(() => reject(new EngineError('INTERNAL', `engine worker crashed: ${err.message}`))));
    worker.on('exit', (code) => finish(() => reject(new EngineError('INTERNAL', `engine worker exited (code ${code}) before reporting`))));
  });
  const post = (message: ToWorker): void => worker.postMessage(message);
  post({ type: 'start', seq, job });
  // Callers read one of `done` and `packed`; the other must not count as an unhandled rejection.
  packed.catch(() => undefined);
  let done: Promise<BatchReport> | null = null;
  return {
    seq,
    cancel: (target) => {
      if (!settled) post(target === undefined ? { type: 'cancel', seq } : { type: 'cancel', seq, target });
    },
    get done() {
      return (done ??= packed.then((batch): BatchReport => ({ ...batch, cards: batch.cards.map(unpack) })));
    },
    packed,
  };
}
