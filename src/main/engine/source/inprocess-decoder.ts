import { Readable, type Duplex } from 'node:stream';
import { EngineError } from '../errors';
import { imageOpenError, type ByteInput } from './input';
import { classifyFailure, decodeFailure } from './decode-error';

/** An in-process decoder: builds a readable of decoded bytes over a readable of compressed bytes. */
export interface InProcessSpec {
  format: string;
  /** Bytes per read of the compressed input (default: READ_CHUNK). */
  readSize?: number;
  /** Builds the decoding stream for one pass over the input (async when the decoder module loads lazily). */
  decode(compressed: Readable): Readable | Promise<Readable>;
  /** Optional: decides truncated/corrupt from the decoder's error (defaults to message words + input state). */
  classify?: (err: Error, inputEnded: boolean) => 'truncated' | 'corrupt';
}

/** Wraps a transform so `decode` can be given as `input => input.pipe(transform)` with errors forwarded. */
export function through(compressed: Readable, transform: Duplex): Readable {
  compressed.on('error', (err) => transform.destroy(err));
  return compressed.pipe(transform);
}

/**
 * Streams the decoded bytes of one pass. Decoder errors become SOURCE_TRUNCATED / SOURCE_CORRUPT naming
 * the file, the format and the bytes produced; stopping early destroys the decoder and the input.
 */
export async function* inProcessDecode(input: ByteInput, spec: InProcessSpec): AsyncGenerator<Buffer> {
  const compressed = input.open(spec.readSize);
  let inputEnded = false;
  let inputError: unknown = null;
  compressed.once('end', () => {
    inputEnded = true;
  });
  compressed.once('error', (err) => {
    inputError = err;
  });
  let decoded: Readable;
  try {
    decoded = await spec.decode(compressed);
  } catch (err) {
    compressed.destroy();
    throw err;
  }
  let bytesOut = 0;
  try {
    for await (const chunk of decoded as AsyncIterable<Buffer>) {
      bytesOut += chunk.length;
      yield chunk;
    }
  } catch (err) {
    if (err instanceof EngineError) throw err;
    // Reading the file failed (I/O error, file removed): not the decoder's fault.
    if (inputError !== null) throw input.kind === 'file' ? imageOpenError(input.path, inputError) : inputError;
    const error = err instanceof Error ? err : new Error(String(err));
    const kind = spec.classify ? spec.classify(error, inputEnded) : classifyFailure(error.message, inputEnded);
    // A decoder library that trips over bad input with a JavaScript TypeError says nothing a user can use.
    const detail = error instanceof TypeError || error instanceof RangeError ? '' : error.message;
    throw decodeFailure(input.path, spec.format, kind, bytesOut, detail);
  } finally {
    decoded.destroy();
    compressed.destroy();
  }
}
