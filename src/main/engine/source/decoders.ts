import { PassThrough, Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import * as zlib from 'node:zlib';
import type { Compression } from '../../../shared/report';
import { EngineError } from '../errors';
import type { DecoderPreference } from './types';
import type { ByteInput } from './input';
import { childDecode } from './child-decoder';
import { inProcessDecode, through } from './inprocess-decoder';
import { findProgram } from './system-program';
import { loadZstdNapi, zstdNapiDecode } from './zstd-napi-decoder';
import { rewriteXzChecks, verifyXzChecks, XzCheckLedger } from './xz-check-rewrite';

/** A chosen decoder: its report name and how to run one pass over the input. */
export interface Decoder {
  name: string;
  run(input: ByteInput): AsyncGenerator<Buffer>;
  /** A pass meant to be stopped after its first bytes, where that can be made cheaper than `run`. */
  head?(input: ByteInput): AsyncGenerator<Buffer>;
}

/**
 * zlib's output buffer and the compressed bytes per write, both 1 MiB. Every write and every output buffer
 * is a round trip through the thread pool, so small ones cost dearly: on the benchmark image, 64 KiB writes
 * with 256 KiB buffers took 1.6 s to inflate 2 GiB, 1 MiB with 1 MiB took 1.0 s, and the whole .gz copy
 * went from 3.0 s to 1.75 s. Memory stays bounded at any write size: Node's zlib stops after one output
 * buffer until the reader pulls (a 1 GiB run of zeros streams in under 90 MB of RSS with 4 MiB writes).
 */
const ZLIB_CHUNK = 1024 * 1024;
const ZLIB_INPUT_CHUNK = 1024 * 1024;

function system(name: string, program: string, args: string[], format: string): Decoder | null {
  const found = findProgram(program);
  if (!found) return null;
  return { name, run: (input) => childDecode(input, { program: found, args, format }) };
}

function gzipDecoder(): Decoder {
  return {
    name: 'zlib',
    run: (input) =>
      inProcessDecode(input, {
        format: 'gzip',
        readSize: ZLIB_INPUT_CHUNK,
        decode: (c) => through(c, zlib.createGunzip({ chunkSize: ZLIB_CHUNK })),
      }),
  };
}

/**
 * zstd-napi driven step by step (see zstd-napi-decoder.ts). Node's zlib zstd (Electron) is not used: like
 * every zlib Transform it expands a whole input chunk before honouring backpressure, and zstd expands
 * zero runs ~30000x, so a sparse image would need gigabytes of RAM.
 */
function zstdBuiltin(): Decoder {
  return { name: 'zstd-napi', run: (input) => zstdNapiDecode(input) };
}

function xzBuiltin(): Decoder {
  return {
    name: 'xz-decompress (wasm)',
    run: (input) =>
      inProcessDecode(input, {
        format: 'xz',
        // xz-embedded return codes: 8 = XZ_BUF_ERROR (input ended mid-stream), 5-7 = format/options/data errors.
        classify: (err, inputEnded) => (/error code 8\b/.test(err.message) || (inputEnded && err instanceof TypeError) ? 'truncated' : 'corrupt'),
        // Loaded on first use: a raw or system-decoded image never pays for reading these modules.
        // SHA-256-checked streams are rewritten to check None and their checks compared here (xz-embedded
        // does not know SHA-256); other check types pass through the rewriter unchanged.
        decode: async (c) => {
          const { XzReadableStream } = await import('xz-decompress');
          const ledger = new XzCheckLedger();
          const rewritten = rewriteXzChecks(c as AsyncIterable<Buffer>, ledger);
          // A web stream pulled straight from the rewriter: stopping early cancels it, which ends the rewriter.
          const input = new ReadableStream<Uint8Array>({
            // Never an empty chunk: xz-embedded counts a call without input or output as a stall, and a
            // second one in a row as the end of the input (error code 8).
            pull: async (controller) => {
              for (;;) {
                const next = await rewritten.next();
                if (next.done) return controller.close();
                if (next.value.length > 0) return controller.enqueue(next.value);
              }
            },
            cancel: async () => {
              await rewritten.return(undefined);
            },
          });
          const decoded = Readable.fromWeb(new XzReadableStream(input) as WebReadableStream<Uint8Array>);
          return Readable.from(verifyXzChecks(decoded as AsyncIterable<Buffer>, ledger), { objectMode: false });
        },
      }),
  };
}

function bzip2Builtin(): Decoder {
  return {
    name: 'unbzip2-stream',
    run: (input) =>
      inProcessDecode(input, {
        format: 'bzip2',
        // unbzip2-stream is a classic ("through") stream: bridge it into a PassThrough, keeping backpressure.
        decode: async (c) => {
          const { default: unbzip2 } = await import('unbzip2-stream');
          const legacy = unbzip2();
          const out = new PassThrough({ highWaterMark: ZLIB_CHUNK });
          legacy.on('data', (data: Buffer) => {
            if (!out.write(data)) {
              legacy.pause();
              out.once('drain', () => legacy.resume());
            }
          });
          legacy.on('end', () => out.end());
          legacy.on('error', (err: Error) => out.destroy(err));
          c.on('error', (err) => out.destroy(err));
          out.on('close', () => c.destroy());
          c.pipe(legacy);
          return out;
        },
      }),
  };
}

/** Arguments of the system xz: decode to stdout, quietly, on every core (multi-block files). */
export const XZ_ARGS = ['-dcq', '-T0'];

/**
 * Picks the decoder for a compression. With "auto": zstd is decoded in-process by zstd-napi when its addon
 * loads (the system zstd only as a fallback), because 2 GiB through a pipe costs Node more than decoding
 * it (the benchmark's .zst copy: 2.4 s via the system zstd, 1.6 s in-process); xz and bzip2 go to a system
 * program when present (multi-threaded xz, and the in-process bzip2 is slow). "builtin" never spawns one.
 */
export async function chooseDecoder(compression: Exclude<Compression, 'none' | 'zip'>, preference: DecoderPreference): Promise<Decoder> {
  const auto = preference === 'auto';
  switch (compression) {
    case 'gzip':
      return gzipDecoder();
    case 'zstd': {
      const failure = await loadZstdNapi().then(() => null, (err: unknown) => (err instanceof Error ? err.message : String(err)));
      if (failure === null) return zstdBuiltin();
      const program = auto ? system('zstd (system)', 'zstd', ['-dcq', '--no-progress', '--memory=2048MB'], 'zstd') : null;
      if (program) return program;
      // Refused while opening the image, before anything is written.
      throw new EngineError(
        'IMAGE_UNREADABLE',
        `cannot decode zstd: the built-in decoder (zstd-napi) did not load (${failure.split('\n')[0]})${auto ? ' and no zstd program is installed' : '; without --decoder builtin an installed zstd program is used instead'}`,
      );
    }
    case 'xz': {
      const program = auto ? system('xz (system)', 'xz', XZ_ARGS, 'xz') : null;
      if (!program) return xzBuiltin();
      // One thread for a look at the first bytes: -T0 would start decoding a block per core first.
      const single = system('xz (system)', 'xz', ['-dcq', '-T1'], 'xz');
      return single ? { ...program, head: single.run } : program;
    }
    case 'bzip2':
      return (
        (auto && (system('lbzip2 (system)', 'lbzip2', ['-dc'], 'bzip2') ?? system('bzip2 (system)', 'bzip2', ['-dc'], 'bzip2'))) ||
        bzip2Builtin()
      );
  }
}
