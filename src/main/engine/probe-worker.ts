/**
 * The probe worker thread: probes one image (format, size, bmap parsed and checked) off the main thread and
 * posts the result back. The main side ends the thread on cancel or timeout. Bundled to
 * dist/main/probe-worker.cjs.
 */
import { parentPort } from 'node:worker_threads';
import { serializeError } from './errors';
import { probeImageInThread } from './probe-image';
import type { ProbeReply, ProbeRequest } from './probe';

const port = parentPort;
if (!port) throw new Error('probe-worker must run in a worker thread');

port.once('message', (request: ProbeRequest) => {
  const post = (reply: ProbeReply): void => port.postMessage(reply);
  probeImageInThread(request.path, request.options).then(
    (info) => post({ ok: true, info }),
    (err: unknown) => post({ ok: false, error: serializeError(err) }),
  );
});
