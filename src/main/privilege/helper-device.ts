/**
 * The one device the helper serves: opened only while it still is the pinned drive (device number, size,
 * disk sequence number, model, serial, backing file), a whole block device, not mounted, not swap; then
 * batches of block I/O on offsets inside it, laid out in the helper's own page-aligned memory.
 */
import { readSync, writeSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { EngineError } from '../engine/errors';
import { DeviceExecutor, DeviceFault } from '../engine/device/device-executor';
import { pinDifference, type DevicePin } from '../engine/device/device-pin';
import type { DeviceBatchResult, DeviceOp } from '../engine/device/device-protocol';
import { MAX_BATCH_BYTES, MAX_OPS, WireError, bufferPlaces, type WireOp } from '../engine/device/device-wire';
import { blockDeviceFacts } from '../system/block-device';
import { whereMounted } from '../system/where-mounted';

const PAGE = 4096;
const WASM_PAGE = 65536;

/** The helper's I/O memory: one batch, each op on its own page offset (a WebAssembly memory is page-aligned). */
export function helperMemory(): Buffer {
  // Each op may start a page further on: room for the largest batch and a page per op.
  const pages = Math.ceil((MAX_BATCH_BYTES + MAX_OPS * PAGE) / WASM_PAGE);
  return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer);
}

async function stillThePinnedDrive(pin: DevicePin): Promise<void> {
  let info;
  try {
    info = await stat(pin.path);
  } catch {
    throw new EngineError('TARGET_NOT_FOUND', `${pin.path} does not exist: check that the drive is still connected`);
  }
  if (!info.isBlockDevice()) throw new EngineError('TARGET_INVALID', `${pin.path} is not a block device; the helper serves drives only`);
  if (!(await realpath(pin.path)).startsWith('/dev/')) throw new EngineError('TARGET_INVALID', `${pin.path} does not lead to a device node in /dev`);
  const facts = await blockDeviceFacts(info.rdev);
  if (!facts) throw new EngineError('TARGET_INVALID', `${pin.path} is a block device the kernel does not describe (no sysfs entry)`);
  if (facts.partition) throw new EngineError('TARGET_INVALID', `${pin.path} is a partition (${facts.name}), not a whole drive`);
  const difference = pinDifference(pin, info.rdev, facts);
  if (difference) {
    throw new EngineError('TARGET_CHANGED', `${pin.path} is not the drive that was listed and confirmed (${difference}); refusing to open it`);
  }
}

function openFault(pin: DevicePin, err: unknown): EngineError {
  const code = err instanceof DeviceFault ? err.code : 'EUNKNOWN';
  const message = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ECHANGED':
      return new EngineError('TARGET_CHANGED', `${pin.path} is not the drive that was listed and confirmed: ${message}`);
    case 'EBUSY':
      return new EngineError('TARGET_BUSY', `${pin.path} is in use (mounted or opened exclusively by another program)`);
    case 'EROFS':
      return new EngineError('TARGET_READ_ONLY', `${pin.path} is read-only (write-protected)`);
    case 'ENOENT':
      return new EngineError('TARGET_NOT_FOUND', `${pin.path} does not exist: check that the drive is still connected`);
    default:
      return new EngineError('TARGET_INVALID', `cannot open ${pin.path}: ${message}`);
  }
}

/** Opens the pinned drive, or throws EngineError naming why not. */
export async function openPinnedDevice(pin: DevicePin, memory: Buffer): Promise<DeviceExecutor> {
  await stillThePinnedDrive(pin);
  const mounts = await whereMounted(pin.path);
  if (mounts === null) throw new EngineError('TARGET_NOT_ALLOWED', `the helper cannot tell on this system whether ${pin.path} is mounted; refusing`);
  const mounted = mounts.filter((m) => !m.startsWith('swap on '));
  if (mounted.length > 0) throw new EngineError('TARGET_MOUNTED', `${pin.path} is mounted (${mounted.join(', ')}): unmount it, then try again`);
  if (mounts.length > 0) throw new EngineError('TARGET_BUSY', `${pin.path} is in use as swap (${mounts.join(', ')}): turn it off first (swapoff)`);
  let executor: DeviceExecutor;
  try {
    // O_EXCL: nobody mounts it while it is open; `expect` checks the open descriptor's device number and size.
    executor = DeviceExecutor.open({ path: pin.path, mode: pin.mode, kind: 'block-device', expect: { rdev: pin.rdev, size: pin.size } }, memory);
  } catch (err) {
    throw openFault(pin, err);
  }
  try {
    await stillThePinnedDrive(pin); // another medium between the check and the open
  } catch (err) {
    executor.close();
    throw err;
  }
  return executor;
}

/**
 * Runs one batch: each op laid out in the helper's memory (its bytes start on a page plus its device offset's
 * remainder, as O_DIRECT needs); an op outside the device refuses the whole batch before anything runs; the
 * write ops' bytes are read from the transfer buffer first, and what the read ops delivered is written back
 * there, each op at its place (bufferPlaces).
 */
export function runBatch(executor: DeviceExecutor, memory: Buffer, buffer: number, base: number, wireOps: readonly WireOp[]): DeviceBatchResult {
  let cursor = 0;
  const ops = wireOps.map((op): DeviceOp => {
    if (op.op === 'flush') return op;
    const at = Math.ceil(cursor / PAGE) * PAGE + (op.offset % PAGE);
    cursor = at + op.length;
    if (cursor > memory.length) throw new WireError(`a batch needs more than the helper's ${memory.length} bytes of memory`);
    return { ...op, at };
  });
  const size = executor.info.size ?? 0;
  const outside = ops.findIndex((op) => (op.op === 'write' || op.op === 'read') && op.offset + op.length > size);
  if (outside >= 0) {
    const op = ops[outside] as Extract<DeviceOp, { op: 'write' | 'read' }>;
    return {
      reads: [],
      error: {
        index: 0,
        code: 'EBOUNDS',
        message: `refused: op ${outside} (${op.op} of ${op.length} bytes at ${op.offset}) lies outside the device (${size} bytes); nothing of this batch ran`,
      },
    };
  }
  const places = bufferPlaces(base, ops);
  ops.forEach((op, i) => {
    if (op.op === 'write') transfer(readSync, buffer, memory, op.at, op.length, places[i] as number);
  });
  const result = executor.run(ops);
  let k = 0;
  ops.forEach((op, i) => {
    if (op.op !== 'read' || k >= result.reads.length) return;
    const n = result.reads[k++] as number;
    if (n > 0) transfer(writeSync, buffer, memory, op.at, n, places[i] as number);
  });
  return result;
}

/** Moves `length` bytes between memory and the transfer buffer (short transfers looped). */
function transfer(io: (fd: number, buf: Buffer, offset: number, length: number, position: number) => number, fd: number, memory: Buffer, at: number, length: number, position: number): void {
  for (let done = 0; done < length; ) {
    const n = io(fd, memory, at + done, length - done, position + done);
    if (n <= 0) throw new WireError('the transfer buffer ended early');
    done += n;
  }
}
