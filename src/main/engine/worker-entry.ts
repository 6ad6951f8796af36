/**
 * The engine worker thread: receives one `start` (and maybe `cancel`s, of the job or of one card), runs the
 * job and posts the typed protocol messages back; for a card served by the privileged helper it asks its
 * parent to start the helper ('elevate') and hears when that helper ended ('helper-ended'). Bundled to dist/main/engine-worker.cjs.
 */
import { parentPort } from 'node:worker_threads';
import { rangeTableBuffers, type PackedFlashReport } from '../../shared/range-table';
import type { FromWorker, ToWorker } from './protocol';
import { EngineError, serializeError } from './errors';
import { runJob } from './run-job';

const port = parentPort;
if (!port) throw new Error('engine-worker must run in a worker thread');

const controller = new AbortController();
const cards: AbortController[] = [];
/** Helpers asked for and not yet ended, by card. */
const helpers = new Map<number, { resolve(): void; reject(err: EngineError): void }>();
let running = false;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

port.on('message', (message: ToWorker) => {
  if (message.type === 'cancel') {
    if (message.target === undefined) controller.abort();
    else cards[message.target]?.abort();
    return;
  }
  if (message.type === 'helper-ended') {
    const waiting = helpers.get(message.target);
    helpers.delete(message.target);
    if (message.error) waiting?.reject(new EngineError(message.error.code, message.error.message));
    else waiting?.resolve();
    return;
  }
  if (running) return;
  running = true;
  const { seq, job } = message;
  for (let i = 0; i < job.targets.length; i++) cards.push(new AbortController());
  /** The card reports already posted ('target-done'), by the target they were posted for. */
  const posted = new Map<PackedFlashReport, number>();
  runJob(
    job,
    {
      started: (layout) => post({ type: 'started', seq, layout }),
      progress: (target, progress) => post({ type: 'progress', seq, target, progress }),
      targetDone: (target, report) => {
        posted.set(report, target);
        // The range table's buffers move to the parent: this thread is done with them.
        post({ type: 'target-done', seq, target, report }, rangeTableBuffers(report.ranges));
      },
      log: (level, text) => post({ type: 'log', seq, level, message: text }),
      elevate: (target, file) =>
        new Promise<void>((resolve, reject) => {
          helpers.set(target, { resolve, reject });
          post({ type: 'elevate', seq, target, file });
        }),
    },
    controller.signal,
    cards.map((c) => c.signal),
  ).then(
    ({ cards: reports, ...report }) => {
      const unposted = reports.filter((r) => !posted.has(r));
      post({ type: 'done', seq, report, cards: reports.map((r) => (posted.has(r) ? { target: posted.get(r) as number } : { report: r })) }, unposted.flatMap((r) => rangeTableBuffers(r.ranges)));
    },
    (err: unknown) => post({ type: 'error', seq, error: serializeError(err) }),
  );
});
