/**
 * What the engine asks of a device, and what comes back: open one device (or file), then batches of plain
 * block I/O on offsets inside it. The same ops serve the in-process device thread and the elevated helper,
 * so root only ever sees this narrow protocol. Buffers are addressed by byte offsets (`at`) into the job's
 * shared WebAssembly.Memory; over the helper's wire an op carries no `at`: its bytes cross through the
 * transfer buffer (device-wire.ts) and the helper lays them out in memory of its own.
 */

/** How to open the target. Policy was decided before: this only says what to open and how to pin it. */
export interface DeviceOpenRequest {
  path: string;
  /** "verify" opens read-only. */
  mode: 'copy' | 'verify';
  kind: 'block-device' | 'file';
  /** Block devices: the device number and size the engine checked; the opener refuses anything else. */
  expect?: { rdev: number; size: number } | null;
  /**
   * Block devices: a descriptor this process already holds (the privileged helper handed it over, opened and
   * pinned); it is adopted instead of opening the path, and checked against `expect` like an opened one.
   */
  descriptor?: number | null;
}

export interface DeviceInfo {
  /** True when reads and writes bypass the page cache (O_DIRECT). */
  direct: boolean;
  /** Alignment of direct I/O (the device's logical sector size; 4096 for files). */
  sectorSize: number;
  /** Bytes the device holds, null for a regular file. */
  size: number | null;
}

/**
 * One operation. `offset`/`length` are bytes on the device (any alignment: the executor reads, modifies and
 * writes partial sectors itself); `at` is where the bytes are in the shared memory.
 */
export type DeviceOp =
  | { op: 'write'; offset: number; length: number; at: number }
  | { op: 'read'; offset: number; length: number; at: number }
  | { op: 'flush' }
  /** Regular files only: sets the file's length. */
  | { op: 'truncate'; length: number };

/** The outcome of a batch: ops run in order and stop at the first error. */
export interface DeviceBatchResult {
  /** Bytes each read op delivered (fewer than asked only at the end of the device or file). */
  reads: number[];
  error: DeviceError | null;
}

export interface DeviceError {
  /** Index of the op that failed. */
  index: number;
  /** errno code (EIO, ENXIO, ...) or an internal code (EBOUNDS, EALIGN). */
  code: string;
  message: string;
}

/** Engine -> device thread. */
export type ToDevice =
  | { type: 'open'; request: DeviceOpenRequest; memory: WebAssembly.Memory }
  | { type: 'batch'; id: number; ops: DeviceOp[] }
  | { type: 'close' };

/** Device thread -> engine. */
export type FromDevice =
  | { type: 'opened'; info: DeviceInfo }
  | { type: 'open-failed'; code: string; message: string }
  | { type: 'result'; id: number; result: DeviceBatchResult }
  | { type: 'closed' };
