/**
 * The privileged helper (dist/main/helper.cjs), started with administrator rights as
 * `<node or app in Node mode> helper.cjs <rendezvous file> <uid>`. It serves block I/O on ONE drive and
 * nothing else: it checks the rendezvous (helper-rendezvous.ts), connects to the engine and proves the
 * token, takes one open request (validated with the pin's schema) and opens the drive only while it still
 * is the pinned one (helper-device.ts); then it runs batches of reads, writes and flushes on offsets inside
 * that drive until the engine closes or goes away. No image, bmap, decoder, child process or PATH lookup
 * runs here, and nothing in the environment chooses what runs.
 */
import { connect } from 'node:net';
import { EngineError } from '../engine/errors';
import type { DeviceExecutor } from '../engine/device/device-executor';
import { openRequestSchema } from '../engine/device/device-pin';
import type { DeviceBatchResult, DeviceOp } from '../engine/device/device-protocol';
import {
  BATCH,
  CONTROL,
  MAX_BATCH_BYTES,
  MAX_BATCH_META,
  MAX_CONTROL,
  RESULT,
  FrameReader,
  WireError,
  controlFrame,
  decodeBatch,
  encodeResult,
  frameHeader,
  parseControl,
} from '../engine/device/device-wire';
import { helperMemory, openPinnedDevice, placeBatch, runBatch } from './helper-device';
import { HelperRefusal, invokingUid, takeRendezvous } from './helper-rendezvous';

const say = (message: string): void => void process.stderr.write(`sureflash helper: ${message}\n`);

/** Serves the engine at `socketPath` until it closes; resolves with the exit code. */
function serve(socketPath: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const memory = helperMemory();
    const spare = Buffer.alloc(16);
    let state: 'waiting' | 'opening' | 'open' | 'done' = 'waiting';
    let executor: DeviceExecutor | null = null;
    let batch: { id: number; ops: DeviceOp[] } | null = null;
    let paused = false;

    const finish = (code: number, why?: string): void => {
      if (state === 'done') return;
      state = 'done';
      executor?.close();
      executor = null;
      if (why) say(why);
      socket.end();
      socket.destroySoon();
      resolve(code);
    };

    const respond = (id: number, ops: DeviceOp[], result: DeviceBatchResult): void => {
      const meta = encodeResult(id, result);
      const reads = ops.filter((op): op is Extract<DeviceOp, { op: 'read' }> => op.op === 'read');
      const data = result.reads.map((n, i) => memory.subarray((reads[i] as { at: number }).at, (reads[i] as { at: number }).at + n));
      // Nothing more is read until the answer left: its bytes are still in the memory the next batch fills.
      paused = true;
      socket.cork();
      socket.write(frameHeader(RESULT, meta.length, data.reduce((n, b) => n + b.length, 0)));
      const parts = [meta, ...data];
      parts.forEach((part, i) =>
        socket.write(part, i < parts.length - 1 ? undefined : () => {
          paused = false;
          if (state !== 'done') socket.resume();
        }),
      );
      socket.uncork();
    };

    const control = (message: unknown): void => {
      const type = (message as { type?: unknown } | null)?.type;
      if (type === 'close') {
        executor?.close();
        executor = null;
        socket.write(controlFrame({ type: 'closed' }));
        return finish(0);
      }
      if (state !== 'waiting' || type !== 'open') throw new WireError(`unexpected ${String(type)}`);
      const request = openRequestSchema.safeParse(message);
      if (!request.success) throw new WireError(`a malformed open request (${request.error.issues[0]?.message ?? 'invalid'})`);
      state = 'opening';
      const { pin } = request.data;
      openPinnedDevice(pin, memory).then(
        (opened) => {
          if (state !== 'opening') return opened.close();
          executor = opened;
          state = 'open';
          socket.write(controlFrame({ type: 'opened', info: opened.info }));
        },
        (err: unknown) => {
          const error = err instanceof EngineError ? err : new EngineError('TARGET_INVALID', `cannot open ${pin.path}: ${String(err)}`);
          socket.write(controlFrame({ type: 'refused', code: error.code, message: error.message }));
          finish(1, `refused: ${error.message}`);
        },
      );
    };

    const reader = new FrameReader({
      limits: (kind) => {
        if (kind === CONTROL) return { meta: MAX_CONTROL, data: 0 };
        return kind === BATCH && state === 'open' ? { meta: MAX_BATCH_META, data: MAX_BATCH_BYTES } : null;
      },
      place: (kind, meta, dataLength) => {
        if (kind !== BATCH) return [];
        const { id, ops } = decodeBatch(meta, dataLength);
        const placed = placeBatch(ops, memory);
        batch = { id, ops: placed.ops };
        return placed.writes;
      },
      frame: (kind, meta) => {
        if (kind === CONTROL) return control(parseControl(meta));
        const { id, ops } = batch as { id: number; ops: DeviceOp[] };
        batch = null;
        respond(id, ops, runBatch(executor as DeviceExecutor, ops));
      },
    });

    const socket = connect({
      path: socketPath,
      // Incoming bytes land where they belong: headers in place, write data straight in the aligned memory.
      onread: {
        buffer: () => (state === 'done' ? spare : reader.next()),
        callback: (n: number) => {
          if (state === 'done') return false;
          try {
            reader.got(n);
          } catch (err) {
            finish(1, `refused the engine's message: ${err instanceof Error ? err.message : String(err)}`);
            return false;
          }
          return !paused;
        },
      },
    });
    socket.on('connect', () => socket.write(controlFrame({ type: 'auth', token })));
    socket.on('error', (err) => finish(1, `the connection to the engine failed: ${err.message}`));
    // The engine closed (its job ended, it gave up on a stalled card, or it went away): close the drive.
    socket.on('close', () => finish(executor || state === 'done' ? 0 : 1, executor ? undefined : 'the engine closed the connection before a drive was opened'));
  });
}

async function main(): Promise<number> {
  if (process.platform !== 'linux') throw new HelperRefusal(`the helper serves Linux block devices only in this version, not ${process.platform}`);
  const file = process.argv[2];
  if (!file) throw new HelperRefusal('usage: helper.cjs <rendezvous file> <uid of the user who asked>');
  const uid = invokingUid(process.argv[3], process.env);
  const { socketPath, token } = await takeRendezvous(file, uid);
  return serve(socketPath, token);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    say(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
