/**
 * Runs device batches on one open descriptor: the device thread and the elevated helper both use it. Ops run
 * in order, so a partial sector's read-modify-write can never race another write of the same sector. Every op
 * is checked to lie inside the device and the memory.
 *
 * Many writes in flight: with O_DIRECT and `inFlight` (the native module's writeMany: writes-in-flight.ts), a
 * run of consecutive write ops that are whole sectors in place, length and memory is one group, submitted with
 * up to AIO_DEPTH writes in flight (Linux native AIO), so a bmap of many small ranges does not pay one device
 * round trip per range. No two writes of a group overlap or even touch: a write that would closes the group
 * first, so a later write over an earlier one still lands last, and the block layer cannot merge two of them
 * into one request (whose error would fail both, blaming a write that did nothing wrong). Everything else
 * (partial sectors, reads, flushes, truncates) runs synchronously and in order: a group ends before any op that
 * is not such a write. A short write is finished synchronously. When writeMany cannot run a group (io_setup
 * fails: EAGAIN when the system's aio-max-nr is used up, ...) its writes run one by one instead.
 *
 * Errors: a batch stops at its first failing op, in op order, and names it with the errno code and message
 * the synchronous call would give (EIO, ENOSPC, ENXIO...). The ops before it are done. Unlike the synchronous
 * path, writes of the same group AFTER the failing one may have run too (they were in flight): a caller must
 * treat every op from the failing one on as not done — not as "not written" — and write it again or give up on
 * the device. (The card stage does: it writes the ops after a media error again, and any other error fails the
 * card.)
 */
import { closeSync, constants, fdatasyncSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { splitRdev } from '../../system/block-device';
import { nativeIo } from '../../system/native-io';
import type { DeviceBatchResult, DeviceError, DeviceInfo, DeviceOp, DeviceOpenRequest } from './device-protocol';

const PAGE = 4096;
/** Writes in flight at once through the native module. */
const AIO_DEPTH = 64;
/** Most writes in one group (bounds the overlap check of writes that come out of order, and the tables). */
const AIO_GROUP = 4096;

/**
 * Many O_DIRECT writes in flight: the native module's writeMany (see NativeIo), and the names of its errno
 * values. writes-in-flight.ts makes one; the executor itself loads nothing (the privileged helper imports it).
 */
export interface WritesInFlight {
  /** Writes table's [offset, length, at] triples with up to `depth` in flight: NativeIo.writeMany. */
  writeMany(fd: number, memory: Uint8Array, table: Float64Array, depth: number, results: Float64Array): void;
  /** The code and message a synchronous call failing with `errno` throws ("EIO", "EIO: i/o error, write"). */
  describe(errno: number, syscall: string): { code: string; message: string };
}

export interface DeviceExecutorOptions {
  /** Many writes in flight; absent or null: every write is one synchronous call. */
  inFlight?: WritesInFlight | null;
}

type WriteOp = Extract<DeviceOp, { op: 'write' }>;

/** An error with an errno-like code, as the executor reports it. */
export class DeviceFault extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const alignDown = (n: number, to: number): number => Math.floor(n / to) * to;

/** Size in bytes and logical sector size of a block device, from sysfs. */
export function blockDeviceGeometry(rdev: number): { size: number; sectorSize: number } {
  const { major, minor } = splitRdev(rdev);
  const base = `/sys/dev/block/${major}:${minor}`;
  const size = Number(readFileSync(`${base}/size`, 'utf8').trim()) * 512;
  let sectorSize = 512;
  try {
    sectorSize = Number(readFileSync(`${base}/queue/logical_block_size`, 'utf8').trim()) || 512;
  } catch {
    // partitions have no queue/: 512 is the kernel's unit
  }
  return { size, sectorSize };
}

export class DeviceExecutor {
  private readonly scratch: Buffer;
  /** Many writes in flight (O_DIRECT only), or null. */
  private readonly inFlight: WritesInFlight | null;
  /** writeMany's [offset, length, at] table and results, reused (grown up to AIO_GROUP writes). */
  private table = new Float64Array(0);
  private results = new Float64Array(0);

  constructor(
    private readonly fd: number,
    readonly info: DeviceInfo,
    private readonly memory: Buffer,
    private readonly kind: 'block-device' | 'file',
    options: DeviceExecutorOptions = {},
    /** The descriptor was handed over (not opened by Node's fs here). */
    private readonly adopted = false,
  ) {
    // Aligned scratch for partial sectors: a little WebAssembly memory of its own (page-aligned).
    const pages = Math.ceil((2 * Math.max(info.sectorSize, PAGE)) / 65536);
    this.scratch = Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, 2 * Math.max(info.sectorSize, PAGE));
    this.inFlight = info.direct ? (options.inFlight ?? null) : null;
  }

  /** True when runs of aligned writes go many in flight (writeMany). */
  get writesInFlight(): boolean {
    return this.inFlight !== null;
  }

  /** Opens what the request names and checks it is still what the engine saw. Throws DeviceFault. */
  static open(request: DeviceOpenRequest, memory: Buffer, options: DeviceExecutorOptions = {}): DeviceExecutor {
    const { O_DIRECT, O_RDWR, O_RDONLY, O_EXCL, O_CREAT, O_NOFOLLOW } = constants;
    const copy = request.mode === 'copy';
    if (request.kind === 'block-device') {
      if (O_DIRECT === undefined) throw new DeviceFault('ENOTSUP', 'this platform has no O_DIRECT');
      if (typeof request.descriptor === 'number' && !request.expect) throw new DeviceFault('EINVAL', 'a handed-over descriptor needs the device number and size to check it against');
      const adopted = typeof request.descriptor === 'number';
      // This thread owns it now: closed with the executor, or when the thread ends (a stalled card's too).
      if (adopted) nativeIo()?.adoptFd(request.descriptor as number);
      const fd = typeof request.descriptor === 'number' ? request.descriptor : openWith(request.path, (copy ? O_RDWR : O_RDONLY) | O_DIRECT | O_EXCL);
      try {
        const stat = fstatSync(fd);
        if (!stat.isBlockDevice()) throw new DeviceFault('ENOTBLK', `${request.path} is not a block device`);
        const geometry = blockDeviceGeometry(stat.rdev);
        if (request.expect && (request.expect.rdev !== stat.rdev || request.expect.size !== geometry.size)) {
          throw new DeviceFault('ECHANGED', `${request.path} is no longer the device that was checked (device number or size changed)`);
        }
        return new DeviceExecutor(fd, { direct: true, sectorSize: geometry.sectorSize, size: geometry.size }, memory, 'block-device', options, adopted);
      } catch (err) {
        if (adopted) closeAdopted(fd);
        else closeSync(fd);
        throw err;
      }
    }
    const flags = (copy ? O_RDWR | O_CREAT : O_RDONLY) | (O_NOFOLLOW ?? 0);
    let fd: number;
    let direct = O_DIRECT !== undefined;
    try {
      fd = openWith(request.path, flags | (direct ? O_DIRECT : 0));
    } catch (err) {
      if (!direct || (err as DeviceFault).code !== 'EINVAL') throw err;
      direct = false; // a filesystem without O_DIRECT: the report says "buffered"
      fd = openWith(request.path, flags);
    }
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw new DeviceFault('EINVAL', `${request.path} is not a regular file`);
    }
    return new DeviceExecutor(fd, { direct, sectorSize: direct ? PAGE : 1, size: null }, memory, 'file', options);
  }

  /** Runs ops in order until the first that fails (see the file's comment for what ran after it). */
  run(ops: DeviceOp[]): DeviceBatchResult {
    const reads: number[] = [];
    for (let index = 0; index < ops.length; index++) {
      const op = ops[index] as DeviceOp;
      try {
        const end = this.inFlight && op.op === 'write' ? this.groupEnd(ops, index) : index;
        if (end - index > 1) {
          const failed = this.writeGroup(this.inFlight as WritesInFlight, ops as WriteOp[], index, end);
          if (failed) return { reads, error: failed };
          index = end - 1;
          continue;
        }
        switch (op.op) {
          case 'write':
            this.check(op.offset, op.length, op.at);
            this.write(op.offset, op.length, op.at);
            break;
          case 'read':
            this.check(op.offset, op.length, op.at);
            reads.push(this.read(op.offset, op.length, op.at));
            break;
          case 'flush':
            fdatasyncSync(this.fd);
            break;
          case 'truncate':
            if (this.kind !== 'file') throw new DeviceFault('EINVAL', 'only a regular file can be truncated');
            ftruncateSync(this.fd, op.length);
            break;
        }
      } catch (err) {
        return { reads, error: deviceError(index, err) };
      }
    }
    return { reads, error: null };
  }

  /**
   * The end (exclusive) of the group of writes starting at `from`: consecutive write ops inside the device and
   * the memory, whole sectors in place, length and memory, none overlapping or touching another of the group.
   */
  private groupEnd(ops: readonly DeviceOp[], from: number): number {
    const sector = this.info.sectorSize;
    let reach = -1; // the end of the group's furthest write: a write starting after it touches none
    let end = from;
    for (; end < ops.length && end - from < AIO_GROUP; end++) {
      const op = ops[end] as DeviceOp;
      if (op.op !== 'write' || op.offset % sector !== 0 || op.length % sector !== 0 || op.at % sector !== 0 || !this.inside(op)) break;
      if (op.offset <= reach && touchesOne(ops as readonly WriteOp[], from, end, op)) break;
      reach = Math.max(reach, op.offset + op.length);
    }
    return end;
  }

  /**
   * Writes ops[from, end) (a group: see groupEnd) with many in flight. Returns the first failing op's error in
   * op order, or null when every write is done; short writes are finished synchronously.
   */
  private writeGroup(inFlight: WritesInFlight, ops: readonly WriteOp[], from: number, end: number): DeviceError | null {
    const n = end - from;
    if (this.results.length < n) {
      this.results = new Float64Array(Math.min(AIO_GROUP, Math.max(n, 2 * this.results.length)));
      this.table = new Float64Array(3 * this.results.length);
    }
    const table = this.table.subarray(0, 3 * n);
    const results = this.results.subarray(0, n);
    for (let i = 0; i < n; i++) {
      const op = ops[from + i] as WriteOp;
      table[3 * i] = op.offset;
      table[3 * i + 1] = op.length;
      table[3 * i + 2] = op.at;
    }
    try {
      inFlight.writeMany(this.fd, this.memory, table, AIO_DEPTH, results);
    } catch {
      // No AIO for this group (io_setup: EAGAIN when aio-max-nr is used up, ENOMEM...): one by one, as
      // without the module. Writes that did run are written again with the same bytes.
      results.fill(0);
    }
    for (let i = 0; i < n; i++) {
      const op = ops[from + i] as WriteOp;
      const result = results[i] as number;
      if (result === op.length) continue;
      // A short write, or one not run (never submitted, or refused by io_submit with EAGAIN: the kernel queued
      // no more): the rest of it synchronously. Any other error is the write's own.
      let done = Number.isNaN(result) ? 0 : result;
      if (result < 0) {
        const { code, message } = inFlight.describe(-result, 'write');
        if (code !== 'EAGAIN') return { index: from + i, code, message };
        done = 0;
      }
      try {
        this.write(op.offset + done, op.length - done, op.at + done);
      } catch (err) {
        return deviceError(from + i, err);
      }
    }
    return null;
  }

  private inside(op: WriteOp): boolean {
    try {
      this.check(op.offset, op.length, op.at);
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.adopted) closeAdopted(this.fd);
    else closeSync(this.fd);
  }

  /** The open descriptor (the helper hands it to the engine). */
  get descriptor(): number {
    return this.fd;
  }

  private check(offset: number, length: number, at: number): void {
    const whole = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
    if (!whole(offset) || !whole(length) || !whole(at) || length === 0) throw new DeviceFault('EBOUNDS', `bad span ${offset}+${length}`);
    if (this.info.size !== null && offset + length > this.info.size) throw new DeviceFault('EBOUNDS', `span ${offset}+${length} is past the end of the device (${this.info.size})`);
    if (at + length > this.memory.length) throw new DeviceFault('EBOUNDS', `memory span ${at}+${length} is outside the buffer`);
  }

  /** The aligned middle of [offset, offset+length), or null when there is none. */
  private middle(offset: number, length: number, at: number): { start: number; end: number } | null {
    const sector = this.info.sectorSize;
    const start = Math.ceil(offset / sector) * sector;
    const end = alignDown(offset + length, sector);
    if (end <= start) return null;
    if ((at + (start - offset)) % sector !== 0) throw new DeviceFault('EALIGN', `memory at ${at} is not aligned like device offset ${offset}`);
    return { start, end };
  }

  private write(offset: number, length: number, at: number): void {
    if (!this.info.direct) return writeFull(this.fd, this.memory, at, length, offset);
    const mid = this.middle(offset, length, at);
    if (!mid) return this.patch(offset, length, at);
    if (mid.start > offset) this.patch(offset, mid.start - offset, at);
    writeFull(this.fd, this.memory, at + (mid.start - offset), mid.end - mid.start, mid.start);
    if (mid.end < offset + length) this.patch(mid.end, offset + length - mid.end, at + (mid.end - offset));
  }

  private read(offset: number, length: number, at: number): number {
    if (!this.info.direct) return readFull(this.fd, this.memory, at, length, offset);
    const mid = this.middle(offset, length, at);
    if (!mid) return this.peek(offset, length, at);
    let got = 0;
    if (mid.start > offset) {
      got += this.peek(offset, mid.start - offset, at);
      if (got < mid.start - offset) return got;
    }
    const n = readFull(this.fd, this.memory, at + (mid.start - offset), mid.end - mid.start, mid.start);
    got += n;
    if (n < mid.end - mid.start) return got;
    if (mid.end < offset + length) got += this.peek(mid.end, offset + length - mid.end, at + (mid.end - offset));
    return got;
  }

  /** Read-modify-write of the sectors under a span that does not cover them whole. */
  private patch(offset: number, length: number, at: number): void {
    const sector = this.info.sectorSize;
    const base = alignDown(offset, sector);
    const span = Math.ceil((offset + length) / sector) * sector - base;
    const buf = this.scratch.subarray(0, span);
    const got = readFull(this.fd, buf, 0, span, base);
    // Past the end of a regular file there is nothing yet; a device always has whole sectors.
    if (got < span) {
      if (this.kind !== 'file') throw new DeviceFault('EIO', `short read of the sector at ${base}`);
      buf.fill(0, got);
    }
    this.memory.copy(buf, offset - base, at, at + length);
    writeFull(this.fd, buf, 0, span, base);
  }

  /** Reads a span that does not cover whole sectors through the scratch; returns bytes delivered. */
  private peek(offset: number, length: number, at: number): number {
    const sector = this.info.sectorSize;
    const base = alignDown(offset, sector);
    const span = Math.ceil((offset + length) / sector) * sector - base;
    const got = readFull(this.fd, this.scratch, 0, span, base);
    const available = Math.max(0, Math.min(length, got - (offset - base)));
    this.scratch.copy(this.memory, at, offset - base, offset - base + available);
    return available;
  }
}

/** Closes a handed-over descriptor (through the native module that received it: Node's fs did not open it). */
function closeAdopted(fd: number): void {
  const io = nativeIo();
  if (io) io.closeFd(fd);
  else closeSync(fd);
}

/** True when `op` overlaps or adjoins one of ops[from, end). */
function touchesOne(ops: readonly WriteOp[], from: number, end: number, op: WriteOp): boolean {
  for (let k = from; k < end; k++) {
    const other = ops[k] as WriteOp;
    if (op.offset <= other.offset + other.length && other.offset <= op.offset + op.length) return true;
  }
  return false;
}

/** The error of op `index` as a batch result names it: its errno code and message. */
function deviceError(index: number, err: unknown): DeviceError {
  const code = (err as { code?: unknown }).code;
  return { index, code: typeof code === 'string' ? code : 'EUNKNOWN', message: err instanceof Error ? err.message : String(err) };
}

function openWith(path: string, flags: number): number {
  try {
    return openSync(path, flags, 0o644);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new DeviceFault(typeof code === 'string' ? code : 'EUNKNOWN', err instanceof Error ? err.message : String(err));
  }
}

function writeFull(fd: number, buf: Buffer, at: number, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = writeSync(fd, buf, at + done, length - done, position + done);
    if (n <= 0) throw new DeviceFault('ENOSPC', `short write at ${position + done}`);
    done += n;
  }
}

/** Reads until `length` bytes or the end; never leaves the caller guessing what is stale. */
function readFull(fd: number, buf: Buffer, at: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, at + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
