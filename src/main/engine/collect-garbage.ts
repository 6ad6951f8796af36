/**
 * One full garbage collection of this thread's heap, for the moment right after a large bmap was parsed and
 * planned. The parse leaves its garbage behind (the file's bytes, its text, a record per <Range>: over 10 MB
 * for 50,000 ranges), and V8 keeps it until the old generation next fills, which happens once the copy has
 * begun and the chunk pool, the readback buffers and the card's device thread are allocated too: whether it
 * comes before or after that moment made the peak RSS of a 50,000-range copy about 140 or about 155 MB
 * (measured). Node has no API for it: `--expose-gc`, set at run time, gives a context created afterwards the
 * `gc` function (V8 reads the flag when it creates a context). Where that fails, nothing happens.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const fn: unknown = runInNewContext('typeof gc === "function" ? gc : null');
      gc = typeof fn === 'function' ? (fn as () => void) : null;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
