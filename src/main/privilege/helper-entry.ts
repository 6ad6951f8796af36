/**
 * The privileged helper (dist/main/helper.cjs), started with administrator rights as
 * `<node or app in Node mode> helper.cjs <rendezvous file> <uid>`. It serves block I/O on ONE drive and
 * nothing else: it checks the rendezvous (helper-rendezvous.ts), connects to the engine and proves the
 * token, takes one open request (validated with the pin's schema) and opens the drive only while it still
 * is the pinned one (helper-device.ts). Then, when the engine asked for it and both sides have the native
 * module, it hands the opened descriptor to the engine over the rendezvous' handover socket and closes its
 * own (the engine checks what it got and does the I/O itself: no byte crosses a process boundary), then waits
 * for the job's next drive the same way until the engine closes the connection;
 * otherwise it runs batches of reads, writes and flushes on offsets inside that drive until the engine
 * closes or goes away. No image, bmap, decoder, child process or PATH lookup
 * runs here, and nothing in the environment chooses what runs.
 */
import { connect } from 'node:net';
import { EngineError } from '../engine/errors';
import type { DeviceExecutor } from '../engine/device/device-executor';
import type { DeviceBatchResult } from '../engine/device/device-protocol';
import { openRequestSchema } from '../engine/device/device-pin';
import {
  BATCH,
  CONTROL,
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
import { nativeIo } from '../system/native-io';
import { helperMemory, openPinnedDevice, runBatch } from './helper-device';
import { HelperRefusal, invokingUid, takeRendezvous } from './helper-rendezvous';

const say = (message: string): void => void process.stderr.write(`sureflash helper: ${message}\n`);

/** Serves the engine at `socketPath` until it closes; resolves with the exit code. */
function serve(socketPath: string, handoverPath: string | null, token: string, buffer: number): Promise<number> {
  return new Promise((resolve) => {
    const memory = helperMemory();
    const spare = Buffer.alloc(16);
    let state: 'waiting' | 'opening' | 'open' | 'done' = 'waiting';
    /** Drives handed over to the engine on this connection. */
    let handedOver = 0;
    let executor: DeviceExecutor | null = null;

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

    const respond = (id: number, result: DeviceBatchResult): void => {
      const meta = encodeResult(id, result);
      socket.write(Buffer.concat([frameHeader(RESULT, meta.length, 0), meta]));
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
      const { pin, handover } = request.data;
      openPinnedDevice(pin, memory).then(
        (opened) => {
          if (state !== 'opening') return opened.close();
          if (handover && handOver(opened.descriptor)) {
            opened.close(); // the engine holds the drive now (the same open file: its exclusive claim stays)
            handedOver++;
            // Another of the job's drives may be asked for next; the engine closes when it has them all.
            state = 'waiting';
            socket.write(controlFrame({ type: 'opened', info: opened.info, handedOver: true }));
            return;
          }
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

    /** Sends the drive's descriptor to the engine's handover socket; false (said why) when it cannot. */
    const handOver = (fd: number): boolean => {
      const io = nativeIo();
      if (!handoverPath || !io) {
        say(`serving the drive's I/O (${handoverPath ? 'the native module is not available here' : 'the engine has no handover socket'})`);
        return false;
      }
      try {
        io.sendFd(handoverPath, fd, Buffer.from(token, 'utf8'));
        return true;
      } catch (err) {
        say(`could not hand the drive over (${err instanceof Error ? err.message : String(err)}); serving its I/O instead`);
        return false;
      }
    };

    const reader = new FrameReader({
      limits: (kind) => {
        if (kind === CONTROL) return { meta: MAX_CONTROL, data: 0 };
        return kind === BATCH && state === 'open' ? { meta: MAX_BATCH_META, data: 0 } : null;
      },
      place: () => [],
      frame: (kind, meta) => {
        if (kind === CONTROL) return control(parseControl(meta));
        const { id, base, ops } = decodeBatch(meta);
        respond(id, runBatch(executor as DeviceExecutor, memory, buffer, base, ops));
      },
    });

    const socket = connect({
      path: socketPath,
      // Frames are read into their places as they come (headers, then meta), one pass, bounded.
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
          return true;
        },
      },
    });
    socket.on('connect', () => socket.write(controlFrame({ type: 'auth', token })));
    socket.on('error', (err) => finish(1, `the connection to the engine failed: ${err.message}`));
    // The engine closed (its job ended, it gave up on a stalled card, or it went away): close the drive.
    socket.on('close', () =>
      finish(executor || state === 'done' || handedOver > 0 ? 0 : 1, executor || handedOver > 0 ? undefined : 'the engine closed the connection before a drive was opened'),
    );
  });
}

async function main(): Promise<number> {
  if (process.platform !== 'linux') throw new HelperRefusal(`the helper serves Linux block devices only in this version, not ${process.platform}`);
  const file = process.argv[2];
  if (!file) throw new HelperRefusal('usage: helper.cjs <rendezvous file> <uid of the user who asked>');
  const uid = invokingUid(process.argv[3], process.env);
  const { socketPath, handoverPath, token, buffer } = await takeRendezvous(file, uid);
  return serve(socketPath, handoverPath, token, buffer);
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
