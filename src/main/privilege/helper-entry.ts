/**
 * The privileged helper (dist/main/helper.cjs), started with administrator rights as
 * `<node or app in Node mode> helper.cjs <rendezvous file>`. It reads and deletes the file, connects back to
 * main, proves itself with the token, receives one job, re-checks the target, runs the engine and relays
 * every engine message. It exits when the job ends or when main goes away (socket closed → cancel).
 */
import { readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { isRetryCount } from '../../shared/retry-limit';
import { EngineError, serializeError } from '../engine/errors';
import type { FlashJob, FromWorker } from '../engine/protocol';
import { startEngineJob, type EngineJobHandle } from '../engine/worker-client';
import { isRendezvousFile, type HelperAuth, type ToHelper } from './helper-messages';
import { requireUnmountedDevice } from './helper-target';
import { readLines, sendLine } from './line-channel';

function isJob(value: unknown): value is FlashJob {
  const job = value as FlashJob | null;
  return (
    typeof job === 'object' && job !== null && (job.mode === 'copy' || job.mode === 'verify') && typeof job.image === 'string' &&
    Array.isArray(job.targets) && job.targets.length > 0 && job.targets.every((t) => typeof t?.path === 'string') && typeof job.readback === 'boolean' && typeof job.verifySource === 'boolean' &&
    isRetryCount(job.retries)
  );
}

async function readRendezvous(file: string): Promise<{ socketPath: string; token: string }> {
  const text = await readFile(file, 'utf8');
  await rm(file, { force: true });
  const parsed: unknown = JSON.parse(text);
  if (!isRendezvousFile(parsed)) throw new Error('the rendezvous file is malformed');
  return parsed;
}

function serve(socket: Socket): void {
  let handle: EngineJobHandle | null = null;
  let received = false;
  let cancelled = false;
  const refuse = (err: unknown): void => {
    const message: FromWorker = { type: 'error', seq: 0, error: serializeError(err) };
    sendLine(socket, message);
    socket.end();
  };
  const run = async (job: FlashJob): Promise<void> => {
    for (const t of job.targets) await requireUnmountedDevice(t.path);
    if (socket.destroyed) return;
    if (cancelled) throw new EngineError('CANCELLED', 'Cancelled before writing started; the drive was not changed.');
    handle = startEngineJob({ ...job, requireBlockDevice: true }, { onMessage: (message: FromWorker) => sendLine(socket, message) });
    await handle.done.catch(() => undefined); // the 'error' message was already relayed
    socket.end();
  };
  readLines(
    socket,
    (raw) => {
      const message = raw as ToHelper;
      if (message?.type === 'cancel') {
        cancelled = true;
        handle?.cancel();
      } else if (message?.type === 'job' && !received) {
        received = true;
        if (!isJob(message.job)) return refuse(new EngineError('USAGE', 'The helper received a malformed job.'));
        run(message.job).catch(refuse);
      }
    },
    () => socket.destroy(),
  );
  socket.on('close', () => {
    // Main went away: stop writing; the process exits once the engine worker is gone (or soon after, at worst).
    handle?.cancel();
    setTimeout(() => process.exit(1), 30_000).unref();
  });
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: helper.cjs <rendezvous file>');
  const { socketPath, token } = await readRendezvous(file);
  const socket = connect(socketPath);
  socket.on('error', (err) => {
    process.stderr.write(`sureflash helper: ${err.message}\n`);
    process.exitCode = 1;
  });
  socket.once('connect', () => {
    sendLine(socket, { type: 'auth', token } satisfies HelperAuth);
    serve(socket);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`sureflash helper: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
