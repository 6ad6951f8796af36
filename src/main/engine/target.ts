/**
 * Targets: a block device (opened exclusively, O_DIRECT for writes and readback) or a regular file
 * (truncated to the image size so unmapped blocks stay holes). Every read and write here bypasses the page
 * cache where the OS allows it; the report states when a regular file's filesystem refused O_DIRECT.
 */
import { constants, promises as fsp, type Stats } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { alignDown, alignUp, ALIGNMENT, AlignedSlab } from './aligned-buffers';
import { EngineError } from './errors';
import type { TargetKind } from '../../shared/report';
import { describeSize } from './engine-format';

export interface Target {
  path: string;
  kind: TargetKind;
  /** Bytes available (device size), null for a regular file (it grows). */
  size: number | null;
  /** True when reads bypass the page cache (O_DIRECT). */
  direct: boolean;
  /** Writes all of buf at offset; buf must be aligned and a multiple of 4096 when direct. */
  write(buf: Buffer, offset: number): Promise<void>;
  /** Reads buf.length bytes at offset (fewer only at the end of a file); returns bytes read. */
  read(buf: Buffer, offset: number): Promise<number>;
  /** Writes an unaligned tail (the image's last partial sector) without touching bytes past it. */
  writeTail(data: Buffer, offset: number): Promise<void>;
  /** Reads an unaligned tail of data.length bytes at offset. */
  readTail(length: number, offset: number): Promise<Buffer>;
  /**
   * Flushes to stable storage (fdatasync). A file target is first cut to the image size: the one known at
   * open, or `imageLength` when the size was only learnt by streaming.
   */
  flush(imageLength?: number): Promise<void>;
  close(): Promise<void>;
}

export interface OpenTargetOptions {
  mode: 'copy' | 'verify';
  /** Bytes the image needs; null when unknown (then only the device end stops the copy). */
  imageSize: number | null;
  requireBlockDevice?: boolean;
}

const LOST = new Set(['EIO', 'ENXIO', 'ENODEV', 'ENOTCONN', 'ESHUTDOWN', 'ENOMEDIUM', 'ESTALE']);

/** Maps an I/O error on the target to an EngineError that names the device and what happened. */
export function targetIoError(err: unknown, path: string, what: 'write' | 'read' | 'flush'): EngineError {
  const code = (err as NodeJS.ErrnoException | null)?.code ?? '';
  const message = err instanceof Error ? err.message : String(err);
  if (LOST.has(code)) {
    return new EngineError('DEVICE_LOST', `device lost: ${path} stopped responding during ${what} (${code}); it was removed or failed`);
  }
  if (code === 'ENOSPC') return new EngineError('TARGET_TOO_SMALL', `${path} is full: no space left during ${what}`);
  return new EngineError('WRITE_FAILED', `${what} on ${path} failed: ${message}`);
}

/** Linux: size of a block device from sysfs (bytes), via its major:minor. */
async function blockDeviceInfo(stat: Stats): Promise<{ size: number | null; sysPath: string | null; sector: number }> {
  const major = Math.floor(stat.rdev / 256) & 0xfff;
  const minor = (stat.rdev & 0xff) | ((Math.floor(stat.rdev / 4096) & 0xfff00) >>> 0);
  const sysPath = `/sys/dev/block/${major}:${minor}`;
  try {
    const sectors = Number((await readFile(`${sysPath}/size`, 'utf8')).trim());
    const logical = Number((await readFile(`${sysPath}/queue/logical_block_size`, 'utf8').catch(() => '512')).trim());
    return { size: sectors * 512, sysPath: await realpath(sysPath), sector: logical > 0 ? logical : 512 };
  } catch {
    return { size: null, sysPath: null, sector: 512 };
  }
}

/** Linux: the mountpoints of a block device or any of its partitions, from /proc/self/mountinfo. */
export async function mountpointsOf(sysPath: string): Promise<string[]> {
  let info: string;
  try {
    info = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const line of info.split('\n')) {
    const fields = line.split(' ');
    const devno = fields[2];
    const mountpoint = fields[4];
    if (!devno || !mountpoint || devno.startsWith('0:')) continue;
    try {
      const mounted = await realpath(`/sys/dev/block/${devno}`);
      if (mounted === sysPath || mounted.startsWith(`${sysPath}/`)) found.push(mountpoint);
    } catch {
      // not a block device we can resolve
    }
  }
  return found;
}

function openError(err: unknown, path: string): EngineError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return new EngineError('TARGET_NOT_FOUND', `target ${path} does not exist`);
  if (code === 'EACCES' || code === 'EPERM') return new EngineError('PERMISSION_DENIED', `no permission to open ${path}: run as root or use the app`);
  if (code === 'EBUSY') return new EngineError('TARGET_BUSY', `${path} is in use (mounted or opened exclusively by another program)`);
  if (code === 'EROFS') return new EngineError('TARGET_READ_ONLY', `${path} is read-only`);
  if (code === 'EISDIR') return new EngineError('TARGET_INVALID', `target ${path} is a directory`);
  return new EngineError('TARGET_INVALID', `cannot open ${path}: ${err instanceof Error ? err.message : String(err)}`);
}

export async function openTarget(path: string, options: OpenTargetOptions): Promise<Target> {
  let stat: Stats | null = null;
  try {
    stat = await fsp.stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || options.mode === 'verify' || options.requireBlockDevice) throw openError(err, path);
  }
  if (stat?.isDirectory()) throw new EngineError('TARGET_INVALID', `target ${path} is a directory; give a device or a file path`);
  if (stat && !stat.isBlockDevice() && !stat.isFile()) throw new EngineError('TARGET_INVALID', `target ${path} is neither a block device nor a regular file`);
  if (options.requireBlockDevice && !stat?.isBlockDevice()) throw new EngineError('TARGET_INVALID', `target ${path} is not a block device`);
  if (stat?.isBlockDevice()) return openBlockDevice(path, stat, options);
  return openFileTarget(path, stat, options);
}

async function openBlockDevice(path: string, stat: Stats, options: OpenTargetOptions): Promise<Target> {
  const { size, sysPath, sector } = await blockDeviceInfo(stat);
  if (sysPath) {
    const mounts = await mountpointsOf(sysPath);
    if (mounts.length > 0) throw new EngineError('TARGET_MOUNTED', `${path} is mounted at ${mounts.join(', ')}: unmount it first`);
  }
  if (size !== null && options.imageSize !== null && size < options.imageSize) {
    throw new EngineError('TARGET_TOO_SMALL', `target ${path} is too small: ${describeSize(size)}, the image needs ${describeSize(options.imageSize)}`);
  }
  const { O_DIRECT, O_RDWR, O_RDONLY, O_EXCL } = constants;
  if (O_DIRECT === undefined) {
    // macOS (F_NOCACHE on /dev/rdiskN) and Windows (FILE_FLAG_NO_BUFFERING on \\.\PhysicalDriveN) need
    // their own uncached device paths; without them no readback could be trusted, so refuse rather than lie.
    throw new EngineError('TARGET_INVALID', `writing devices is implemented for Linux only in this version (${process.platform}: no O_DIRECT)`);
  }
  const writable = options.mode === 'copy';
  let writer: fsp.FileHandle | null = null;
  try {
    // The exclusive handle keeps mounts and other exclusive writers away for the whole job.
    writer = await fsp.open(path, (writable ? O_RDWR : O_RDONLY) | O_DIRECT | O_EXCL);
  } catch (err) {
    throw openError(err, path);
  }
  // Readback uses its own O_DIRECT handle: nothing it returns can come from a cache of the writing handle.
  const reader = await fsp.open(path, O_RDONLY | O_DIRECT).catch(async (err: unknown) => {
    await writer?.close();
    throw openError(err, path);
  });
  return directTarget(path, 'block-device', size, writer, reader, null, sector);
}

async function openFileTarget(path: string, stat: Stats | null, options: OpenTargetOptions): Promise<Target> {
  const { O_DIRECT, O_RDWR, O_RDONLY, O_CREAT } = constants;
  const copy = options.mode === 'copy';
  const flags = copy ? O_RDWR | O_CREAT : O_RDONLY;
  let writer: fsp.FileHandle;
  // Without O_DIRECT on this platform, a file target is read back through the page cache and the report says so.
  let direct = O_DIRECT !== undefined;
  try {
    writer = await fsp.open(path, flags | (direct ? O_DIRECT : 0), 0o644);
  } catch (err) {
    if (!direct || (err as NodeJS.ErrnoException).code !== 'EINVAL') throw openError(err, path);
    direct = false; // e.g. tmpfs on older kernels: no O_DIRECT for regular files
    writer = await fsp.open(path, flags, 0o644).catch((e: unknown) => Promise.reject(openError(e, path)));
  }
  const reader = await fsp.open(path, O_RDONLY | (direct ? O_DIRECT : 0));
  if (!copy && stat && options.imageSize !== null && stat.size < options.imageSize) {
    await writer.close();
    await reader.close();
    throw new EngineError('TARGET_TOO_SMALL', `${path} is ${describeSize(stat.size)}, shorter than the image (${describeSize(options.imageSize)})`);
  }
  const finalSize = copy ? options.imageSize : null;
  const target = direct ? directTarget(path, 'file', null, writer, reader, finalSize, ALIGNMENT, copy) : plainTarget(path, 'file', null, false, writer, reader, finalSize, copy);
  return copy ? truncatedOnFirstWrite(target, writer, options.imageSize) : target;
}

/**
 * Like bmaptool, a file target ends with exactly the image size and unmapped blocks as holes: it is cut
 * to zero and to the image size — but only when the first byte is written (or the job completes), so a
 * job that fails before writing leaves the file as it was.
 */
function truncatedOnFirstWrite(target: Target, writer: fsp.FileHandle, imageSize: number | null): Target {
  let prepared: Promise<void> | null = null;
  const prepare = (): Promise<void> =>
    (prepared ??= (async () => {
      await writer.truncate(0);
      if (imageSize !== null) await writer.truncate(imageSize);
    })());
  return {
    ...target,
    write: async (buf, offset) => (await prepare(), target.write(buf, offset)),
    writeTail: async (data, offset) => (await prepare(), target.writeTail(data, offset)),
    flush: async (imageLength) => (await prepare(), target.flush(imageLength)),
  };
}

async function fullWrite(handle: fsp.FileHandle, buf: Buffer, offset: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await handle.write(buf, done, buf.length - done, offset + done);
    if (bytesWritten <= 0) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
    done += bytesWritten;
  }
}

async function fullRead(handle: fsp.FileHandle, buf: Buffer, offset: number, length = buf.length): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Runs an I/O operation and turns its error into one that names the target. */
const guardFor =
  (path: string) =>
  async <T>(what: 'write' | 'read' | 'flush', op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (err) {
      throw targetIoError(err, path, what);
    }
  };

/** A target over two handles with no alignment rules (buffered files; the base of direct targets). */
function plainTarget(
  path: string,
  kind: TargetKind,
  size: number | null,
  direct: boolean,
  writer: fsp.FileHandle,
  reader: fsp.FileHandle,
  finalSize: number | null,
  isFile: boolean,
): Target {
  const guard = guardFor(path);
  return {
    path,
    kind,
    size,
    direct,
    write: (buf, offset) => guard('write', () => fullWrite(writer, buf, offset)),
    read: (buf, offset) => guard('read', () => fullRead(reader, buf, offset)),
    writeTail: (data, offset) => guard('write', () => fullWrite(writer, data, offset)),
    readTail: (length, offset) =>
      guard('read', async () => {
        const out = Buffer.alloc(length);
        await fullRead(reader, out, offset);
        return out;
      }),
    flush: (imageLength) =>
      guard('flush', async () => {
        const size = finalSize ?? (isFile ? imageLength : undefined);
        if (size !== undefined) await writer.truncate(size);
        await writer.datasync();
      }),
    close: async () => {
      await Promise.allSettled([writer.close(), reader.close()]);
    },
  };
}

/** O_DIRECT handles: an unaligned tail goes through one aligned sector (read-modify-write). */
function directTarget(
  path: string,
  kind: TargetKind,
  size: number | null,
  writer: fsp.FileHandle,
  reader: fsp.FileHandle,
  finalSize: number | null,
  sectorSize: number,
  isFile = false,
): Target {
  const guard = guardFor(path);
  const sector = new AlignedSlab(ALIGNMENT, 1).slots[0] as Buffer;
  const sectorSpan = (offset: number, length: number): { base: number; span: number } => {
    const base = alignDown(offset, sectorSize);
    return { base, span: alignUp(offset - base + length, sectorSize) };
  };
  return {
    ...plainTarget(path, kind, size, true, writer, reader, finalSize, isFile),
    writeTail: (data, offset) =>
      guard('write', async () => {
        const { base, span } = sectorSpan(offset, data.length);
        if (span > ALIGNMENT) throw new RangeError('tail longer than one 4 KiB block');
        sector.fill(0);
        await fullRead(reader, sector, base, span);
        data.copy(sector, offset - base);
        await fullWrite(writer, sector.subarray(0, span), base);
      }),
    readTail: (length, offset) =>
      guard('read', async () => {
        const { base, span } = sectorSpan(offset, length);
        sector.fill(0);
        await fullRead(reader, sector, base, span);
        return Buffer.from(sector.subarray(offset - base, offset - base + length));
      }),
  };
}
