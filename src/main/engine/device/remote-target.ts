/**
 * A Target served by the privileged helper: the engine opens a rendezvous, asks its parent to start the
 * helper with administrator rights (main does that through the OS prompt), takes the helper's connection
 * once it proved the token, sends the pinned open request and then runs batches over the socket. Write data
 * leaves straight from the shared arena; read data comes back into the read ops' places. Time limits and
 * errors are those of the device thread: a batch that does not finish in time marks the device stalled
 * (DEVICE_STALLED) and drops the connection; device errors come back in the result for the card stage to
 * classify (media error, DEVICE_LOST); a helper that goes away is INTERNAL, never blamed on the card.
 */
import type { Socket } from 'node:net';
import { EngineError } from '../errors';
import type { ErrorCode } from '../../../shared/errors';
import type { SharedArena } from '../chunk/shared-arena';
import type { Target, TargetInfo } from './device-client';
import type { DeviceBatchResult, DeviceInfo, DeviceOp } from './device-protocol';
import type { DevicePin } from './device-pin';
import {
  BATCH,
  CONTROL,
  MAX_BATCH_BYTES,
  MAX_CONTROL,
  MAX_OPS,
  MAX_RESULT_META,
  RESULT,
  FrameReader,
  WireError,
  controlFrame,
  decodeResult,
  encodeBatch,
  frameHeader,
  helperMessageSchema,
  parseControl,
  type HelperMessage,
} from './device-wire';
import { openRendezvous, tokensMatch } from './rendezvous';

/** Starts the helper for a rendezvous file; settles when it ended (rejects: it could not be started). */
export type Elevate = (file: string) => Promise<void>;

export interface RemoteTargetOptions {
  pin: DevicePin;
  arena: SharedArena;
  timeoutMs: number;
  writeCache: string | null;
  elevate: Elevate;
  signal?: AbortSignal;
  /** How long a connected helper may take to prove the token. */
  authTimeoutMs?: number;
}

interface Pending {
  id: number;
  ops: DeviceOp[];
  resolve(result: DeviceBatchResult): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

const isCode = (code: string): code is ErrorCode => /^[A-Z_]+$/.test(code);

/** Opens the pinned device through the helper. Throws EngineError naming why it could not. */
export async function openRemoteTarget(options: RemoteTargetOptions): Promise<Target> {
  const { pin, arena, timeoutMs } = options;
  const memory = Buffer.from(arena.memory.buffer);
  const rendezvous = await openRendezvous();
  let state: 'auth' | 'opening' | 'open' | 'closing' | 'dead' = 'auth';
  let socket: Socket | null = null;
  let stalled = false;
  let dead: EngineError | null = null;
  let nextId = 1;
  const pending: Pending[] = [];
  let settleOpen!: (outcome: { info: DeviceInfo } | { error: EngineError }) => void;
  const opened = new Promise<{ info: DeviceInfo } | { error: EngineError }>((resolve) => (settleOpen = resolve));
  let onClosed: (() => void) | null = null;

  const fail = (err: EngineError): void => {
    dead ??= err;
    state = 'dead';
    settleOpen({ error: err });
    for (const p of pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    socket?.destroy();
    onClosed?.();
  };
  const lost = (why: string): EngineError =>
    new EngineError('INTERNAL', `the administrator helper for ${pin.path} ${why}; the card was not blamed, but what was written is not verified`);

  const onControl = (message: HelperMessage): void => {
    if (state === 'auth') {
      if (message.type !== 'auth' || !tokensMatch(rendezvous.token, message.token)) throw new WireError('wrong token');
      state = 'opening';
      void rendezvous.close();
      socket?.write(controlFrame({ type: 'open', pin }));
    } else if (state === 'opening' && message.type === 'opened') {
      state = 'open';
      settleOpen({ info: message.info });
    } else if (state === 'opening' && message.type === 'refused') {
      const error = new EngineError(isCode(message.code) ? message.code : 'TARGET_NOT_ALLOWED', message.message);
      settleOpen({ error });
      fail(error);
    } else if (state === 'closing' && message.type === 'closed') {
      onClosed?.();
    } else throw new WireError(`unexpected ${message.type}`);
  };

  const reader = new FrameReader({
    limits: (kind) => {
      if (kind === CONTROL) return { meta: MAX_CONTROL, data: 0 };
      if (kind === RESULT && (state === 'open' || state === 'closing')) return { meta: MAX_RESULT_META, data: MAX_BATCH_BYTES };
      return null;
    },
    place: (kind, meta, dataLength) => {
      if (kind !== RESULT || dataLength === 0) return [];
      const head = pending[0];
      const { id, result } = decodeResult(meta);
      if (!head || head.id !== id) throw new WireError(`a result for batch ${id} that is not the next one`);
      const reads = head.ops.filter((op): op is Extract<DeviceOp, { op: 'read' }> => op.op === 'read');
      if (result.reads.length > reads.length) throw new WireError('a result with more reads than asked');
      return result.reads.map((n, i) => {
        const op = reads[i] as Extract<DeviceOp, { op: 'read' }>;
        if (n > op.length) throw new WireError('a read delivered more than asked');
        return memory.subarray(op.at, op.at + n);
      });
    },
    frame: (kind, meta) => {
      if (kind === CONTROL) {
        const parsed = helperMessageSchema.safeParse(parseControl(meta));
        if (!parsed.success) throw new WireError('a malformed control message');
        return onControl(parsed.data);
      }
      const { id, result } = decodeResult(meta);
      const head = pending.shift();
      if (!head || head.id !== id) throw new WireError(`a result for batch ${id} that is not the next one`);
      clearTimeout(head.timer);
      const reads = head.ops.filter((op) => op.op === 'read').length;
      if (result.reads.length > reads) throw new WireError('a result with more reads than asked');
      head.resolve(result);
    },
  });

  const launched = options.elevate(rendezvous.file).then(
    () => (state === 'auth' ? lost('ended without connecting; nothing was written') : null),
    (err: unknown) => (err instanceof EngineError ? err : new EngineError('ELEVATION_REFUSED', `the administrator helper could not be started: ${String(err)}`)),
  );
  void launched.then((err) => {
    if (err && state === 'auth') fail(err);
  });
  const abort = (): void => fail(new EngineError('CANCELLED', 'cancelled before writing started; the drive was not changed'));
  options.signal?.addEventListener('abort', abort, { once: true });
  if (options.signal?.aborted) abort();

  rendezvous.client.then(
    (client) => {
      if (state === 'dead') return void client.destroy();
      socket = client;
      const authTimer = setTimeout(() => state === 'auth' && fail(lost('did not identify itself')), options.authTimeoutMs ?? 10_000);
      client.on('data', (chunk: Buffer) => {
        try {
          reader.feed(chunk);
        } catch (err) {
          fail(state === 'auth' ? new EngineError('ELEVATION_REFUSED', `the administrator helper could not be trusted (${(err as Error).message}); nothing was written`) : lost(`broke the protocol (${(err as Error).message})`));
        }
      });
      client.on('error', () => undefined);
      client.on('close', () => {
        clearTimeout(authTimer);
        if (state === 'closing') onClosed?.();
        else if (state !== 'dead') fail(lost(state === 'auth' ? 'disconnected before identifying itself' : 'ended unexpectedly'));
      });
    },
    () => undefined,
  );

  const outcome = await opened;
  options.signal?.removeEventListener('abort', abort);
  await rendezvous.close();
  if ('error' in outcome) {
    (socket as Socket | null)?.destroy();
    throw outcome.error;
  }
  const live = socket as unknown as Socket;
  const info: TargetInfo = { ...outcome.info, path: pin.path, kind: 'block-device', rdev: pin.rdev, writeCache: options.writeCache };

  return {
    info,
    get stalled() {
      return stalled;
    },
    run: (ops, what) => {
      if (dead) return Promise.reject(dead);
      if (ops.length > MAX_OPS) return Promise.reject(new EngineError('INTERNAL', `a batch of ${ops.length} ops is more than the helper takes (${MAX_OPS})`));
      const writes = ops.filter((op): op is Extract<DeviceOp, { op: 'write' }> => op.op === 'write');
      const data = writes.map((op) => memory.subarray(op.at, op.at + op.length));
      const bytes = data.reduce((n, b) => n + b.length, 0);
      const readBytes = ops.reduce((n, op) => n + (op.op === 'read' ? op.length : 0), 0);
      if (bytes > MAX_BATCH_BYTES || readBytes > MAX_BATCH_BYTES) {
        return Promise.reject(new EngineError('INTERNAL', `a batch of ${Math.max(bytes, readBytes)} bytes is more than the helper takes (${MAX_BATCH_BYTES})`));
      }
      const id = nextId++;
      let meta: Buffer;
      try {
        meta = encodeBatch(id, ops);
      } catch (err) {
        return Promise.reject(new EngineError('INTERNAL', (err as Error).message));
      }
      return new Promise<DeviceBatchResult>((resolve, reject) => {
        const timer = setTimeout(() => {
          stalled = true;
          fail(
            new EngineError(
              'DEVICE_STALLED',
              `${pin.path} stopped answering: a ${what} did not complete within ${Math.round(timeoutMs / 1000)} s (the card or its reader hangs)`,
            ),
          );
        }, timeoutMs);
        pending.push({ id, ops, resolve, reject, timer });
        live.cork();
        live.write(frameHeader(BATCH, meta.length, bytes));
        live.write(meta);
        for (const chunk of data) live.write(chunk);
        live.uncork();
      });
    },
    close: async () => {
      if (dead) return;
      state = 'closing';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        onClosed = () => {
          clearTimeout(timer);
          resolve();
        };
        live.write(controlFrame({ type: 'close' }));
      });
      dead ??= new EngineError('INTERNAL', `${pin.path} is closed`);
      state = 'dead';
      live.destroy();
    },
  };
}
