/**
 * The native module (src/main/native/sureflash-io.c, built to dist/main/sureflash-io.node by the build when a
 * C compiler and Node's headers are there): many O_DIRECT writes in flight from one thread, and handing an open
 * descriptor between processes over a Unix socket. Everything works without it, more slowly; `nativeIo()` says
 * whether it loaded and `nativeIoMissing()` why not.
 *
 * It is looked for only next to the running bundle (the privileged helper loads nothing from anywhere else);
 * run from the TypeScript sources (unit tests), in the checkout's dist/main.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface HandedDescriptor {
  fd: number;
  /** fcntl(F_GETFL) of the descriptor: access mode, O_DIRECT. */
  flags: number;
  /** The sending process's credentials (SO_PEERCRED). */
  uid: number;
  pid: number;
  payload: Buffer;
}

export interface NativeIo {
  /**
   * Writes table's [offset, length, at] triples from memory with up to `depth` in flight; results[i] becomes the
   * bytes write i wrote or -errno; after the first error nothing more is submitted (those stay NaN). The writes
   * must not overlap (they run in any order).
   */
  writeMany(fd: number, memory: Uint8Array, table: Float64Array, depth: number, results: Float64Array): void;
  /** A listening Unix stream socket at path (its descriptor). */
  listenUnix(path: string): number;
  /** One connection's one descriptor (waits at most timeoutMs; throws with code ETIMEDOUT, EPROTO...). */
  acceptFd(listenFd: number, timeoutMs: number): HandedDescriptor;
  /** Connects to the socket at path and sends payload (1–4096 bytes) with fd attached. */
  sendFd(path: string, fd: number, payload: Uint8Array): void;
  /** Closes a descriptor this module gave out (Node's fs in a worker thread warns about closing those). */
  closeFd(fd: number): void;
  /** This thread owns fd: closed by closeFd, or when the thread's environment ends (also a terminated worker). */
  adoptFd(fd: number): void;
}

const FILE = 'sureflash-io.node';
let loaded: { io: NativeIo | null; why: string | null } | null = null;

function where(): string {
  // A bundle in dist/main (or app.asar.unpacked/dist/main) has the module beside it; the sources use the build's.
  const dir = __filename.endsWith('.ts') ? join(__dirname, '..', '..', '..', 'dist', 'main') : __dirname;
  return join(dir, FILE).replace(/app\.asar([\\/])/, 'app.asar.unpacked$1');
}

function load(): { io: NativeIo | null; why: string | null } {
  if (process.platform !== 'linux') return { io: null, why: `it is built for Linux only (this is ${process.platform})` };
  const file = where();
  if (!existsSync(file)) return { io: null, why: `${FILE} was not built (the build needs a C compiler and Node's headers)` };
  try {
    const module = { exports: {} as unknown };
    process.dlopen(module, file);
    const io = module.exports as Partial<NativeIo>;
    if (typeof io.writeMany !== 'function' || typeof io.acceptFd !== 'function' || typeof io.sendFd !== 'function' || typeof io.listenUnix !== 'function' || typeof io.closeFd !== 'function' || typeof io.adoptFd !== 'function') {
      return { io: null, why: `${FILE} is from another version (rebuild with \`npm run build\`)` };
    }
    return { io: io as NativeIo, why: null };
  } catch (err) {
    return { io: null, why: `${FILE} did not load: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** The native module, or null when it is not built or does not load here. */
export function nativeIo(): NativeIo | null {
  loaded ??= load();
  return loaded.io;
}

/** Why the native module is not available, or null when it is. */
export function nativeIoMissing(): string | null {
  loaded ??= load();
  return loaded.why;
}
