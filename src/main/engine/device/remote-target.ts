/**
 * A Target opened by the privileged helper: the engine opens a rendezvous, asks its parent to start the
 * helper with administrator rights (main does that through the OS prompt), takes the helper's connection
 * once it proved the token and sends the pinned open request. By default ('descriptor', when the native
 * module is there) the helper hands the opened drive's descriptor over the rendezvous' handover socket; with
 * a job's HelperShare it then waits for the job's next drive on the same connection, else the engine drops
 * the connection and the helper ends. The engine checks each descriptor (sent by root with the token, a block device with the pinned device number,
 * opened O_DIRECT for reading and writing, or reading for verify) and runs it in a device thread of its own,
 * exactly as a drive it opened itself. Otherwise ('served') the helper runs every batch: the ops over the socket,
 * their bytes through the transfer buffer (device-wire.ts) — written there straight from the shared arena,
 * read from there straight into the read ops' places in it. Time limits and
 * errors are those of the device thread: a batch that does not finish in time marks the device stalled
 * (DEVICE_STALLED) and drops the connection; device errors come back in the result for the card stage to
 * classify (media error, DEVICE_LOST); a helper that goes away is INTERNAL, never blamed on the card.
 */
import { constants, fstatSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { EngineError } from '../errors';
import type { ErrorCode } from '../../../shared/errors';
import type { SharedArena } from '../chunk/shared-arena';
import { nativeIo, type HandedDescriptor } from '../../system/native-io';
import { openDeviceThread, type Target, type TargetInfo } from './device-client';
import type { DeviceBatchResult, DeviceInfo, DeviceOp } from './device-protocol';
import type { DevicePin } from './device-pin';
import {
  BATCH,
  BUFFER_BYTES,
  CONTROL,
  MAX_BATCH_BYTES,
  MAX_CONTROL,
  MAX_OPS,
  MAX_RESULT_META,
  RESULT,
  FrameReader,
  WireError,
  bufferPlaces,
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
  /** Ask for the drive's descriptor (the default) or have the helper serve every batch. */
  io?: 'descriptor' | 'served';
  /**
   * The job's helper: once one handed a drive over it stays connected, and the job's next elevated drives
   * are opened by it (one password prompt per job, not per drive) until the job closes the share.
   */
  share?: HelperShare;
}

/** A helper that handed a drive over and waits for the next open request on its authenticated connection. */
interface HelperLease {
  readonly alive: boolean;
  /** The next pinned drive's descriptor, checked like the first one's; throws EngineError when refused. */
  open(pin: DevicePin): Promise<number>;
  close(): Promise<void>;
}

/** One job's elevated drives share one helper (descriptor mode): see RemoteTargetOptions.share. */
export class HelperShare {
  lease: HelperLease | null = null;
  /** Lets the helper go (it exits); call once every drive of the job is open, and when the job ends. */
  async close(): Promise<void> {
    const lease = this.lease;
    this.lease = null;
    await lease?.close();
  }
}

/** Why a handed-over descriptor is not the pinned drive opened as the engine needs it, or null when it is. */
export function descriptorMismatch(got: Pick<HandedDescriptor, 'fd' | 'flags' | 'uid' | 'payload'>, token: string, pin: DevicePin): string | null {
  if (got.uid !== 0) return `it was sent by uid ${got.uid}, not by root`;
  if (!tokensMatch(token, got.payload.toString('utf8'))) return 'it came without the token';
  const access = got.flags & 3; // O_ACCMODE
  const wanted = pin.mode === 'copy' ? constants.O_RDWR : constants.O_RDONLY;
  if (access !== wanted) return `it is open for ${access === constants.O_RDONLY ? 'reading' : access === constants.O_WRONLY ? 'writing only' : 'reading and writing'}, not for ${pin.mode === 'copy' ? 'reading and writing' : 'reading'}`;
  if ((got.flags & (constants.O_DIRECT ?? 0)) === 0) return 'it is not open for direct I/O (O_DIRECT): a readback through it could come from the page cache';
  let st;
  try {
    st = fstatSync(got.fd);
  } catch (err) {
    return `it cannot be looked at (${err instanceof Error ? err.message : String(err)})`;
  }
  if (!st.isBlockDevice()) return 'it is not a block device';
  if (st.rdev !== pin.rdev) return `its device number is ${st.rdev}, not ${pin.rdev}`;
  return null;
}

interface Pending {
  id: number;
  ops: DeviceOp[];
  /** The stretch of the transfer buffer the batch's bytes use. */
  start: number;
  end: number;
  /** Settles when the batch's answer is in (its stretch of the buffer is free again). */
  answered: Promise<void>;
  resolve(result: DeviceBatchResult): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout | null;
}

const isCode = (code: string): code is ErrorCode => /^[A-Z_]+$/.test(code);

/** Cuts a batch into consecutive parts the helper takes whole: at most MAX_OPS ops and MAX_BATCH_BYTES bytes each. */
export function splitBatch(ops: readonly DeviceOp[]): DeviceOp[][] {
  const parts: DeviceOp[][] = [];
  let part: DeviceOp[] = [];
  let bytes = 0;
  for (const op of ops) {
    const size = op.op === 'write' || op.op === 'read' ? op.length : 0;
    if (part.length > 0 && (part.length >= MAX_OPS || bytes + size > MAX_BATCH_BYTES)) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(op);
    bytes += size;
  }
  parts.push(part);
  return parts;
}

/** Writes all of `data` at `position` (short writes looped). */
async function writeAll(file: FileHandle, data: Buffer, position: number): Promise<void> {
  for (let done = 0; done < data.length; ) done += (await file.write(data, done, data.length - done, position + done)).bytesWritten;
}

/** Reads `target.length` bytes at `position`. */
async function readAll(file: FileHandle, target: Buffer, position: number): Promise<void> {
  for (let done = 0; done < target.length; ) {
    const { bytesRead } = await file.read(target, done, target.length - done, position + done);
    if (bytesRead === 0) throw new EngineError('INTERNAL', 'the transfer buffer ended early');
    done += bytesRead;
  }
}

/** Opens the pinned device through the helper. Throws EngineError naming why it could not. */
export async function openRemoteTarget(options: RemoteTargetOptions): Promise<Target> {
  const { pin } = options;
  const lease = options.io !== 'served' ? options.share?.lease : null;
  if (lease?.alive) return adoptDescriptor(options, await lease.open(pin));
  return openThroughNewHelper(options);
}

/** The engine's own device thread adopts a handed-over descriptor and checks it once more (number and size). */
function adoptDescriptor(options: RemoteTargetOptions, descriptor: number): Promise<Target> {
  const { pin } = options;
  return openDeviceThread({
    request: { path: pin.path, mode: pin.mode, kind: 'block-device', expect: { rdev: pin.rdev, size: pin.size }, descriptor },
    arena: options.arena,
    timeoutMs: options.timeoutMs,
    kind: 'block-device',
    rdev: pin.rdev,
    writeCache: options.writeCache,
    elevated: 'descriptor',
  });
}

async function openThroughNewHelper(options: RemoteTargetOptions): Promise<Target> {
  const { arena, timeoutMs } = options;
  /** The drive being opened (the share's later drives change it). */
  let pin = options.pin;
  const memory = Buffer.from(arena.memory.buffer);
  const rendezvous = await openRendezvous();
  const buffer = await open(rendezvous.bufferPath, 'r+');
  let bufferCursor = 0;
  let state: 'auth' | 'opening' | 'open' | 'handed' | 'handed-opening' | 'closing' | 'dead' = 'auth';
  let socket: Socket | null = null;
  let stalled = false;
  let dead: EngineError | null = null;
  let nextId = 1;
  const pending: Pending[] = [];
  type Opened = { info: DeviceInfo } | { descriptor: number } | { error: EngineError };
  let settleOpen!: (outcome: Opened) => void;
  let opened = new Promise<Opened>((resolve) => (settleOpen = resolve));
  const handover = options.io !== 'served' ? rendezvous.handover : null;
  let onClosed: (() => void) | null = null;

  const fail = (err: EngineError): void => {
    dead ??= err;
    state = 'dead';
    settleOpen({ error: err });
    for (const p of pending.splice(0)) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
    }
    socket?.destroy();
    void buffer.close().catch(() => undefined);
    onClosed?.();
  };
  const lost = (why: string): EngineError =>
    new EngineError('INTERNAL', `the administrator helper for ${pin.path} ${why}; the card was not blamed, but what was written is not verified`);

  const onControl = (message: HelperMessage): void => {
    if (state === 'auth') {
      if (message.type !== 'auth' || !tokensMatch(rendezvous.token, message.token)) throw new WireError('wrong token');
      state = 'opening';
      socket?.write(controlFrame({ type: 'open', pin, ...(handover ? { handover: true } : {}) }));
    } else if ((state === 'opening' || state === 'handed-opening') && message.type === 'opened' && message.handedOver) {
      if (!handover) throw new WireError('a descriptor that was not asked for');
      state = 'handed';
      settleOpen(takeDescriptor(handover.fd));
    } else if (state === 'opening' && message.type === 'opened') {
      state = 'open';
      settleOpen({ info: message.info });
    } else if ((state === 'opening' || state === 'handed-opening') && message.type === 'refused') {
      const error = new EngineError(isCode(message.code) ? message.code : 'TARGET_NOT_ALLOWED', message.message);
      settleOpen({ error });
      fail(error);
    } else if (state === 'closing' && message.type === 'closed') {
      onClosed?.();
    } else throw new WireError(`unexpected ${message.type}`);
  };

  /** The descriptor the helper sent before it said "opened": taken, and checked before anything uses it. */
  const takeDescriptor = (listenFd: number): Opened => {
    const io = nativeIo() as NonNullable<ReturnType<typeof nativeIo>>; // the handover socket exists only with it
    let got: HandedDescriptor;
    try {
      got = io.acceptFd(listenFd, 5000);
    } catch (err) {
      return { error: lost(`said it handed the drive over, but no descriptor came (${err instanceof Error ? err.message : String(err)}); nothing was written`) };
    }
    const why = descriptorMismatch(got, rendezvous.token, pin);
    if (why) {
      io.closeFd(got.fd);
      return { error: new EngineError('INTERNAL', `the descriptor handed over for ${pin.path} was refused: ${why}; nothing was written`) };
    }
    return { descriptor: got.fd };
  };

  const reader = new FrameReader({
    limits: (kind) => {
      if (kind === CONTROL) return { meta: MAX_CONTROL, data: 0 };
      return kind === RESULT && (state === 'open' || state === 'closing') ? { meta: MAX_RESULT_META, data: 0 } : null;
    },
    place: () => [],
    frame: (kind, meta) => {
      if (kind === CONTROL) {
        const parsed = helperMessageSchema.safeParse(parseControl(meta));
        if (!parsed.success) throw new WireError('a malformed control message');
        return onControl(parsed.data);
      }
      const { id, result } = decodeResult(meta);
      const head = pending.shift();
      if (!head || head.id !== id) throw new WireError(`a result for batch ${id} that is not the next one`);
      const reads = head.ops.filter((op) => op.op === 'read');
      if (result.reads.length > reads.length || result.reads.some((n, i) => n > (reads[i] as { length: number }).length)) {
        throw new WireError('a result with more read than asked');
      }
      if (result.error && result.error.index >= head.ops.length) throw new WireError('a result naming an op that was not asked for');
      // What the reads delivered is in the transfer buffer: into the arena with it, then answer.
      const places = bufferPlaces(head.start, head.ops);
      let k = 0;
      const copies: Promise<void>[] = [];
      head.ops.forEach((op, i) => {
        if (op.op !== 'read' || k >= result.reads.length) return;
        const n = result.reads[k++] as number;
        if (n > 0) copies.push(readAll(buffer, memory.subarray(op.at, op.at + n), places[i] as number));
      });
      Promise.all(copies).then(
        () => {
          if (head.timer) clearTimeout(head.timer);
          head.resolve(result);
        },
        (err: unknown) => fail(lost(`left its answer unreadable (${String(err)})`)),
      );
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
        if (state === 'handed' && !options.share) return; // the engine let the helper go once it handed the drive over
        if (state === 'closing') onClosed?.();
        else if (state !== 'dead') fail(lost(state === 'auth' ? 'disconnected before identifying itself' : 'ended unexpectedly'));
      });
    },
    () => undefined,
  );

  const outcome = await opened;
  options.signal?.removeEventListener('abort', abort);
  const share = 'descriptor' in outcome ? options.share : undefined;
  // A shared helper keeps its rendezvous (the handover socket) until the job lets it go.
  if (!share) await rendezvous.close();
  if ('error' in outcome) {
    (socket as Socket | null)?.destroy();
    await buffer.close().catch(() => undefined);
    throw outcome.error;
  }
  if ('descriptor' in outcome) {
    await buffer.close().catch(() => undefined);
    if (share) {
      const live = socket as unknown as Socket;
      share.lease = {
        get alive() {
          return state === 'handed';
        },
        open: async (next) => {
          if (state !== 'handed') throw lost('is gone');
          pin = next;
          opened = new Promise<Opened>((resolve) => (settleOpen = resolve));
          state = 'handed-opening';
          live.write(controlFrame({ type: 'open', pin: next, handover: true }));
          const timer = setTimeout(() => fail(lost(`did not answer the open request for ${next.path} within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
          const result = await opened.finally(() => clearTimeout(timer));
          if ('error' in result) throw result.error;
          if (!('descriptor' in result)) throw lost('answered a drive hand-over with something else');
          return result.descriptor;
        },
        close: async () => {
          if (state === 'handed') {
            state = 'closing';
            live.end(controlFrame({ type: 'close' }));
          }
          await rendezvous.close();
        },
      };
    } else (socket as Socket | null)?.destroy();
    return adoptDescriptor({ ...options, pin }, outcome.descriptor);
  }
  const live = socket as unknown as Socket;
  /** Batches whose bytes are in the transfer buffer and whose answer is not in yet. */
  const sent: Pending[] = [];
  let queue: Promise<void> = Promise.resolve();
  const info: TargetInfo = { ...outcome.info, path: pin.path, kind: 'block-device', rdev: pin.rdev, writeCache: options.writeCache, elevated: 'served' };

  /** One batch the helper takes whole (at most MAX_OPS ops, MAX_BATCH_BYTES bytes). */
  const runOne = (ops: DeviceOp[], what: string): Promise<DeviceBatchResult> => {
    if (dead) return Promise.reject(dead);
    const bytes = ops.reduce((n, op) => n + (op.op === 'write' || op.op === 'read' ? op.length : 0), 0);
    if (bytes > MAX_BATCH_BYTES) return Promise.reject(new EngineError('INTERNAL', `an op of ${bytes} bytes is more than the helper takes (${MAX_BATCH_BYTES})`));
    const id = nextId++;
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    return new Promise<DeviceBatchResult>((resolve, reject) => {
      const entry: Pending = {
        id,
        ops,
        start: 0,
        end: 0,
        answered,
        resolve: (result) => {
          answer();
          resolve(result);
        },
        reject: (err) => {
          answer();
          reject(err);
        },
        timer: setTimeout(() => {
          stalled = true;
          fail(
            new EngineError(
              'DEVICE_STALLED',
              `${pin.path} stopped answering: a ${what} did not complete within ${Math.round(timeoutMs / 1000)} s (the card or its reader hangs)`,
            ),
          );
        }, timeoutMs),
      };
      const send = async (): Promise<void> => {
        // A stretch of the transfer buffer no batch on its way uses: after the last one, or from the start.
        for (;;) {
          const start = bufferCursor + bytes <= BUFFER_BYTES ? bufferCursor : 0;
          const busy = sent.find((p) => start < p.end && p.start < start + bytes);
          if (!busy) {
            entry.start = start;
            entry.end = start + bytes;
            bufferCursor = entry.end;
            break;
          }
          await busy.answered;
          if (dead) throw dead;
        }
        sent.push(entry);
        void answered.then(() => sent.splice(sent.indexOf(entry), 1));
        const places = bufferPlaces(entry.start, ops);
        await Promise.all(ops.map((op, i) => (op.op === 'write' ? writeAll(buffer, memory.subarray(op.at, op.at + op.length), places[i] as number) : null)));
        if (dead) throw dead;
        const meta = encodeBatch(id, entry.start, ops);
        pending.push(entry);
        live.write(Buffer.concat([frameHeader(BATCH, meta.length, 0), meta]));
      };
      // Batches go out in the order they were asked for.
      queue = queue.then(send).catch((err: unknown) => {
        if (entry.timer) clearTimeout(entry.timer);
        entry.reject(err instanceof EngineError ? err : new EngineError('INTERNAL', `could not hand a batch to the helper: ${String(err)}`));
      });
    });
  };

  return {
    info,
    get stalled() {
      return stalled;
    },
    run: async (ops, what) => {
      // A batch bigger than the helper takes goes as several, one after the other, stopping at an error.
      const reads: number[] = [];
      let done = 0;
      for (const part of splitBatch(ops)) {
        const result = await runOne(part, what);
        reads.push(...result.reads);
        if (result.error) return { reads, error: { ...result.error, index: result.error.index + done } };
        done += part.length;
      }
      return { reads, error: null };
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
      await buffer.close().catch(() => undefined);
    },
  };
}
