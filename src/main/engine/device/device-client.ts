/**
 * The engine's side of a device: starts the target's device thread, opens the device there, and runs batches
 * with a time limit. A batch that does not finish in time marks the device stalled (DEVICE_STALLED): every
 * later call fails at once and the thread is abandoned — its stuck call cannot be interrupted, but it no
 * longer holds anything the engine waits for.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { TargetKind } from '../../../shared/report';
import { EngineError } from '../errors';
import type { SharedArena } from '../chunk/shared-arena';
import { nativeIo } from '../../system/native-io';
import type { DeviceBatchResult, DeviceInfo, DeviceOp, DeviceOpenRequest, FromDevice, ToDevice } from './device-protocol';

export interface TargetInfo extends DeviceInfo {
  path: string;
  kind: TargetKind;
  /** Device number of a block device (null for files). */
  rdev: number | null;
  /** queue/write_cache from sysfs ("write back", "write through"), null when there is none. */
  writeCache: string | null;
  /**
   * Opened by the administrator helper: 'descriptor' (it handed the drive over; this process does the I/O) or
   * 'served' (every batch goes through the helper). Absent when the engine opened it itself.
   */
  elevated?: 'descriptor' | 'served';
}

/** One open target: batches of device ops, and close. */
export interface Target {
  readonly info: TargetInfo;
  /** Runs ops in order; device errors come back in the result. Rejects with DEVICE_STALLED or INTERNAL only. */
  run(ops: DeviceOp[], what: string): Promise<DeviceBatchResult>;
  readonly stalled: boolean;
  /** Closes the device (waits for nothing once stalled). */
  close(): Promise<void>;
}

/** Path of the built device thread: next to this bundle in dist/main, or dist/main from a source checkout. */
export function deviceThreadPath(): string {
  const candidates = [join(__dirname, 'device-thread.cjs'), join(__dirname, '..', '..', '..', '..', 'dist', 'main', 'device-thread.cjs')];
  const found = candidates.find((file) => existsSync(file));
  if (!found) throw new EngineError('INTERNAL', 'the device thread is not built: run `npm run build`');
  return found.replace(/app\.asar([\\/])/, 'app.asar.unpacked$1');
}

/** Turns an open failure of the device thread into an error that says what to do. */
export function openFailure(path: string, code: string, message: string): EngineError {
  switch (code) {
    case 'ENOENT':
      return new EngineError('TARGET_NOT_FOUND', `target ${path} does not exist`);
    case 'EACCES':
    case 'EPERM':
      return new EngineError('PERMISSION_DENIED', `no permission to open ${path}: run as root or use the app`);
    case 'EBUSY':
      return new EngineError('TARGET_BUSY', `${path} is in use (mounted or opened exclusively by another program)`);
    case 'EROFS':
      return new EngineError('TARGET_READ_ONLY', `${path} is read-only (write-protected)`);
    case 'ECHANGED':
      return new EngineError('TARGET_CHANGED', `${path} changed since it was checked: ${message}`);
    case 'EISDIR':
      return new EngineError('TARGET_INVALID', `target ${path} is a directory`);
    default:
      return new EngineError('TARGET_INVALID', `cannot open ${path}: ${message}`);
  }
}

export interface DeviceThreadOptions {
  request: DeviceOpenRequest;
  arena: SharedArena;
  /** Longest a batch may take before the device counts as stalled. */
  timeoutMs: number;
  kind: TargetKind;
  rdev: number | null;
  writeCache: string | null;
  /** The administrator helper handed the descriptor over (request.descriptor). */
  elevated?: 'descriptor';
}

/** Starts a device thread and opens the target in it. */
export async function openDeviceThread(options: DeviceThreadOptions): Promise<Target> {
  const { request } = options;
  const worker = new Worker(deviceThreadPath(), { resourceLimits: { maxOldGenerationSizeMb: 64 } });
  const pending = new Map<number, { resolve: (r: DeviceBatchResult) => void; reject: (e: unknown) => void; timer: NodeJS.Timeout }>();
  let nextId = 1;
  let stalled = false;
  let dead: EngineError | null = null;
  let onOpened: ((message: FromDevice) => void) | null = null;
  let onClosed: (() => void) | null = null;
  let exited = false;
  // A handed-over descriptor: once the thread answered the open, it owns it (it closes it on close, on a failed
  // open, or when the thread ends, a stalled one too: see adoptFd). A thread that ended before answering never
  // took it, so it is closed here.
  let descriptor = typeof request.descriptor === 'number' ? request.descriptor : null;
  const releaseDescriptor = (): void => {
    if (descriptor === null) return;
    const fd = descriptor;
    descriptor = null;
    try {
      nativeIo()?.closeFd(fd);
    } catch {
      // already closed: nothing is held
    }
  };

  const failAll = (err: EngineError): void => {
    dead ??= err;
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(err);
      pending.delete(id);
    }
  };
  worker.on('message', (message: FromDevice) => {
    if (message.type === 'result') {
      const p = pending.get(message.id);
      if (!p) return;
      pending.delete(message.id);
      clearTimeout(p.timer);
      p.resolve(message.result);
    } else if (message.type === 'closed') {
      descriptor = null;
      onClosed?.();
    } else {
      descriptor = null;
      onOpened?.(message);
    }
  });
  const crashed = (why: string): void => {
    const err = new EngineError('INTERNAL', `the device thread for ${request.path} ended unexpectedly (${why})`);
    failAll(err);
    onOpened?.({ type: 'open-failed', code: 'EUNKNOWN', message: err.message });
    onClosed?.();
  };
  worker.on('error', (err) => crashed(err.message));
  worker.on('exit', (code) => {
    exited = true;
    releaseDescriptor();
    if (!stalled && dead === null) crashed(`exit code ${code}`);
    onClosed?.();
  });
  const post = (message: ToDevice): void => worker.postMessage(message);

  const opened = await new Promise<FromDevice>((resolve) => {
    onOpened = resolve;
    post({ type: 'open', request, memory: options.arena.memory });
  });
  onOpened = null;
  if (opened.type !== 'opened') {
    dead = new EngineError('INTERNAL', 'closed');
    void worker.terminate();
    const failed = opened as Extract<FromDevice, { type: 'open-failed' }>;
    throw openFailure(request.path, failed.code, failed.message);
  }
  const info: TargetInfo = {
    ...opened.info,
    path: request.path,
    kind: options.kind,
    rdev: options.rdev,
    writeCache: options.writeCache,
    ...(options.elevated ? { elevated: options.elevated } : {}),
  };

  return {
    info,
    get stalled() {
      return stalled;
    },
    run: (ops, what) => {
      if (dead) return Promise.reject(dead);
      const id = nextId++;
      return new Promise<DeviceBatchResult>((resolve, reject) => {
        const timer = setTimeout(() => {
          stalled = true;
          failAll(
            new EngineError(
              'DEVICE_STALLED',
              `${request.path} stopped answering: a ${what} did not complete within ${Math.round(options.timeoutMs / 1000)} s (the card or its reader hangs)`,
            ),
          );
          void worker.terminate();
        }, options.timeoutMs);
        pending.set(id, { resolve, reject, timer });
        post({ type: 'batch', id, ops });
      });
    },
    close: async () => {
      if (stalled || exited) return;
      await new Promise<void>((resolve) => {
        onClosed = resolve;
        try {
          post({ type: 'close' });
        } catch {
          resolve();
        }
        setTimeout(resolve, options.timeoutMs).unref();
      });
      dead ??= new EngineError('INTERNAL', `${request.path} is closed`);
      void worker.terminate();
    },
  };
}
