/**
 * The engine worker thread: receives one `start` (and maybe a `cancel`), runs the job and posts the typed
 * protocol messages back. Bundled to dist/main/engine-worker.cjs.
 */
import { parentPort } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './protocol';
import { serializeError } from './errors';
import { runJob } from './run-job';

const port = parentPort;
if (!port) throw new Error('engine-worker must run in a worker thread');

const controller = new AbortController();
let running = false;
const post = (message: FromWorker): void => port.postMessage(message);

port.on('message', (message: ToWorker) => {
  if (message.type === 'cancel') {
    controller.abort();
    return;
  }
  if (running) return;
  running = true;
  const { seq, job } = message;
  runJob(
    job,
    {
      started: (layout) => post({ type: 'started', seq, layout }),
      progress: (progress) => post({ type: 'progress', seq, progress }),
      log: (level, text) => post({ type: 'log', seq, level, message: text }),
    },
    controller.signal,
  ).then(
    (report) => post({ type: 'done', seq, report }),
    (err: unknown) => post({ type: 'error', seq, error: serializeError(err) }),
  );
});
