import type { ByteInput } from './input';
import { decodeFailure } from './decode-error';
import { MIN_CHUNK } from './rechunk';

type ZstdBinding = typeof import('zstd-napi/binding');
let loading: Promise<ZstdBinding> | null = null;

/** zstd-napi's native binding, loaded on first use: other formats never read the addon from disk. */
export function loadZstdNapi(): Promise<ZstdBinding> {
  loading ??= import('zstd-napi/binding');
  return loading;
}

/** Output buffer per decompression step: the generator yields at most this much before the consumer pulls. */
const OUT_BYTES = 1024 * 1024;
/** Largest zstd window accepted (2 GiB, what `zstd --long=31` writes). */
const WINDOW_LOG_MAX = 31;

/**
 * In-process zstd decoding with zstd-napi's context driven step by step. Unlike a Transform that pushes
 * everything one input chunk expands to (a run of zeros expands ~30000x), each step yields one bounded
 * buffer and waits for the consumer, so memory stays flat on sparse images.
 */
export async function* zstdNapiDecode(input: ByteInput): AsyncGenerator<Buffer> {
  const { DCtx, DParameter } = await loadZstdNapi();
  const dctx = new DCtx();
  dctx.setParameter(DParameter.windowLogMax, WINDOW_LOG_MAX);
  const compressed = input.open();
  let bytesOut = 0;
  let inFrame = false;
  try {
    // One output buffer, refilled after the consumer asks for more (a fresh 1 MiB per step cost 8% of the
    // .zst copy's time in page faults and garbage, and 23 MB of peak RSS).
    const dst = Buffer.allocUnsafe(OUT_BYTES);
    for await (const chunk of compressed as AsyncIterable<Buffer>) {
      let src: Buffer = chunk;
      for (;;) {
        let step: [number, number, number];
        try {
          step = dctx.decompressStream(dst, src) as [number, number, number];
        } catch (err) {
          throw decodeFailure(input.path, 'zstd', 'corrupt', bytesOut, err instanceof Error ? err.message : String(err));
        }
        const [remaining, produced, consumed] = step;
        src = src.subarray(consumed);
        if (produced > 0) {
          bytesOut += produced;
          // rechunk() keeps small chunks across pulls to merge them: those leave as copies.
          yield produced < MIN_CHUNK ? Buffer.from(dst.subarray(0, produced)) : dst.subarray(0, produced);
        }
        // Done with this input once it is consumed and nothing is left to flush.
        if (src.length === 0 && (produced < dst.length || remaining === 0)) {
          inFrame = remaining !== 0;
          break;
        }
      }
    }
    if (inFrame) throw decodeFailure(input.path, 'zstd', 'truncated', bytesOut, 'input ended inside a frame');
  } finally {
    compressed.destroy();
  }
}
