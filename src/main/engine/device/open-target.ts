/**
 * Checks a target before anything is opened for writing, and opens it in its device thread: a block device
 * (not mounted, not swap, not read-only, large enough, a sector size the engine can align to), or a regular
 * file (never created under /dev: a card that did not enumerate must not become a file in RAM).
 */
import { constants, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EngineError } from '../errors';
import { describeSize } from '../engine-format';
import type { SharedArena } from '../chunk/shared-arena';
import { blockDeviceFacts } from '../../system/block-device';
import { whereMounted } from '../../system/where-mounted';
import { openDeviceThread, type Target } from './device-client';
import type { DevicePin } from './device-pin';
import type { Elevate, HelperShare } from './remote-target';

export interface OpenTargetOptions {
  mode: 'copy' | 'verify';
  /** Bytes the image needs; null when unknown (then only the device end stops the copy). */
  imageSize: number | null;
  requireBlockDevice?: boolean;
  arena: SharedArena;
  timeoutMs: number;
  /** Open the device through the privileged helper, pinned to the drive main listed and the user confirmed. */
  elevated?: { pin: DevicePin; elevate: Elevate; io?: 'descriptor' | 'served'; share?: HelperShare } | null;
  /** Cancels waiting for the helper. */
  signal?: AbortSignal;
}

/** Most alignment the engine's buffers give (their slots start on 4 KiB pages). */
const MAX_SECTOR = 4096;

function statError(err: unknown, path: string): EngineError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return new EngineError('TARGET_NOT_FOUND', `target ${path} does not exist`);
  if (code === 'EACCES' || code === 'EPERM') return new EngineError('PERMISSION_DENIED', `no permission to look at ${path}`);
  return new EngineError('TARGET_INVALID', `cannot use ${path}: ${err instanceof Error ? err.message : String(err)}`);
}

/** True for paths in /dev that are not /dev/shm (a RAM filesystem people do use for files). */
const inDev = (path: string): boolean => path.startsWith('/dev/') && !path.startsWith('/dev/shm/');

/** Checks the target and opens it in its own device thread. Throws EngineError naming what is wrong. */
export async function openTarget(path: string, options: OpenTargetOptions): Promise<Target> {
  let st: Stats | null = null;
  try {
    st = await stat(path);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    if (missing && inDev(await realpath(dirname(path)).then((d) => `${d}/`, () => path))) {
      throw new EngineError(
        'TARGET_NOT_FOUND',
        `device ${path} does not exist: the card or drive was not detected (check it is inserted, then list drives with \`sureflash drives\`). Sureflash never creates files in /dev.`,
      );
    }
    if (!missing || options.mode === 'verify' || options.requireBlockDevice) throw statError(err, path);
  }
  if (options.elevated && !st?.isBlockDevice()) throw new EngineError('TARGET_INVALID', `target ${path} is not a block device: the administrator helper serves drives only`);
  if (st?.isDirectory()) throw new EngineError('TARGET_INVALID', `target ${path} is a directory; give a device or a file path`);
  if (st && !st.isBlockDevice() && !st.isFile()) throw new EngineError('TARGET_INVALID', `target ${path} is neither a block device nor a regular file`);
  if (options.requireBlockDevice && !st?.isBlockDevice()) throw new EngineError('TARGET_INVALID', `target ${path} is not a block device`);
  if (st?.isBlockDevice()) return openBlockDevice(path, st, options);
  const real = st ? await realpath(path) : path;
  if (inDev(real)) {
    throw new EngineError('TARGET_INVALID', `${path} is a regular file in /dev, not a device (probably left by a tool that wrote to a device that was not there): remove it and give the real device`);
  }
  if (options.mode === 'verify' && st && options.imageSize !== null && st.size < options.imageSize) {
    throw new EngineError('TARGET_TOO_SMALL', `${path} is ${describeSize(st.size)}, shorter than the image (${describeSize(options.imageSize)})`);
  }
  return openDeviceThread({
    request: { path, mode: options.mode, kind: 'file' },
    arena: options.arena,
    timeoutMs: options.timeoutMs,
    kind: 'file',
    rdev: null,
    writeCache: null,
  });
}

async function openBlockDevice(path: string, st: Stats, options: OpenTargetOptions): Promise<Target> {
  if (constants.O_DIRECT === undefined) {
    // macOS (F_NOCACHE on /dev/rdiskN) and Windows (FILE_FLAG_NO_BUFFERING on \\.\PhysicalDriveN) need
    // their own uncached device paths; without them no readback could be trusted, so refuse rather than lie.
    throw new EngineError('TARGET_INVALID', `writing devices is implemented for Linux only in this version (${process.platform}: no O_DIRECT)`);
  }
  const facts = await blockDeviceFacts(st.rdev);
  if (!facts) throw new EngineError('TARGET_INVALID', `${path} is a block device the kernel does not describe (no sysfs entry)`);
  if (facts.size === 0) throw new EngineError('TARGET_NOT_FOUND', `${path} has no medium (size 0): insert the card`);
  const inUse = await whereMounted(path);
  if (inUse === null) throw new EngineError('TARGET_INVALID', `cannot tell whether ${path} is mounted on this platform`);
  const mounts = inUse.filter((m) => !m.startsWith('swap on '));
  if (mounts.length > 0) throw new EngineError('TARGET_MOUNTED', `${path} is mounted at ${mounts.join(', ')}: unmount it first`);
  if (inUse.length > 0) throw new EngineError('TARGET_BUSY', `${path} is in use as swap (${inUse.join(', ')}): turn it off first (swapoff)`);
  if (options.mode === 'copy' && facts.readOnly) throw new EngineError('TARGET_READ_ONLY', `${path} is read-only (the kernel marks it so: a write-protect switch, or a read-only device)`);
  if (options.imageSize !== null && facts.size < options.imageSize) {
    throw new EngineError('TARGET_TOO_SMALL', `target ${path} is too small: ${describeSize(facts.size)}, the image needs ${describeSize(options.imageSize)}`);
  }
  if (facts.sectorSize > MAX_SECTOR || (facts.sectorSize & (facts.sectorSize - 1)) !== 0) {
    throw new EngineError('TARGET_INVALID', `${path} has ${facts.sectorSize}-byte sectors, which Sureflash cannot write (it aligns to at most ${MAX_SECTOR} bytes)`);
  }
  if (options.elevated) {
    const { pin, elevate, io = 'descriptor', share } = options.elevated;
    if (facts.partition) throw new EngineError('TARGET_INVALID', `${path} is a partition (${facts.name}): the administrator helper serves whole drives only`);
    if (pin.path !== path || pin.rdev !== st.rdev || pin.size !== facts.size || pin.mode !== options.mode) {
      throw new EngineError('TARGET_CHANGED', `${path} is no longer the drive that was confirmed (device number or size changed): list the drives again`);
    }
    // Loaded only for a card served by the helper: its wire checks (zod) cost every other job's engine thread a few MB.
    const { openRemoteTarget } = await import('./remote-target');
    return openRemoteTarget({ pin, arena: options.arena, timeoutMs: options.timeoutMs, writeCache: facts.writeCache, elevate, io, ...(share ? { share } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  }
  return openDeviceThread({
    request: { path, mode: options.mode, kind: 'block-device', expect: { rdev: st.rdev, size: facts.size } },
    arena: options.arena,
    timeoutMs: options.timeoutMs,
    kind: 'block-device',
    rdev: st.rdev,
    writeCache: facts.writeCache,
  });
}
