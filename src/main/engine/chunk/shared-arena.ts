/**
 * One shared, page-aligned memory per job: the chunk pool and every card's readback buffers live in it, so the
 * device threads read and write the very bytes the engine hashes and compares, without copies. A
 * WebAssembly.Memory's buffer starts on a page boundary (measured on these machines), so every region carved
 * at a multiple of 4096 is aligned for O_DIRECT on any logical sector size up to 4 KiB.
 */

export const PAGE = 4096;
const WASM_PAGE = 65536;

/** A region of the arena: `at` is its offset in the memory, `buf` a Buffer over it. */
export interface ArenaRegion {
  at: number;
  buf: Buffer;
}

export class SharedArena {
  readonly memory: WebAssembly.Memory;
  private readonly whole: Buffer;
  private next = 0;

  constructor(readonly bytes: number) {
    const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE));
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    this.whole = Buffer.from(this.memory.buffer);
  }

  /** Carves `bytes` (rounded up to a page) out of the arena. */
  alloc(bytes: number): ArenaRegion {
    const size = alignUp(bytes, PAGE);
    if (this.next + size > this.whole.length) throw new RangeError(`arena of ${this.whole.length} bytes cannot hold ${size} more`);
    const at = this.next;
    this.next += size;
    return { at, buf: this.whole.subarray(at, at + size) };
  }
}

/** Rounds n up to a multiple of `to`. */
export const alignUp = (n: number, to: number): number => Math.ceil(n / to) * to;
/** Rounds n down to a multiple of `to`. */
export const alignDown = (n: number, to: number): number => Math.floor(n / to) * to;
