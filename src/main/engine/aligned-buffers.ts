/**
 * Page-aligned buffers for O_DIRECT I/O. A Node Buffer's address is not aligned, but the backing store of a
 * WebAssembly.Memory is (64 KiB pages, base aligned — measured on these machines), so every slice taken at
 * a multiple of 4096 bytes is aligned for direct I/O on any logical block size up to 4 KiB.
 */

export const ALIGNMENT = 4096;
const WASM_PAGE = 65536;

/** A fixed set of equally sized, aligned slots carved out of one WebAssembly.Memory. */
export class AlignedSlab {
  readonly slots: Buffer[];

  constructor(
    readonly slotBytes: number,
    count: number,
  ) {
    if (slotBytes <= 0 || slotBytes % ALIGNMENT !== 0) throw new RangeError(`slot size ${slotBytes} is not a multiple of ${ALIGNMENT}`);
    const pages = Math.ceil((slotBytes * count) / WASM_PAGE);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    this.slots = Array.from({ length: count }, (_, i) => Buffer.from(memory.buffer, i * slotBytes, slotBytes));
  }
}

/** Rounds n up to a multiple of `to`. */
export const alignUp = (n: number, to: number): number => Math.ceil(n / to) * to;
/** Rounds n down to a multiple of `to`. */
export const alignDown = (n: number, to: number): number => Math.floor(n / to) * to;
