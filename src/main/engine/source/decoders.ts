import { PassThrough, Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { DecompressStream } from 'zstd-napi';
import { XzReadableStream } from 'xz-decompress';
import unbzip2 from 'unbzip2-stream';
import type { Compression } from '../../../shared/report';
import type { DecoderPreference } from './types';
import type { ByteInput } from './input';
import { childDecode } from './child-decoder';
import { inProcessDecode, through } from './inprocess-decoder';
import { findProgram } from './system-program';

/** A chosen decoder: its report name and how to run one pass over the input. */
export interface Decoder {
  name: string;
  run(input: ByteInput): AsyncGenerator<Buffer>;
}

/** Output buffer size for zlib-based decoders (bigger buffers, fewer chunks). */
const ZLIB_CHUNK = 256 * 1024;
/** Largest zstd window accepted (2 GiB, what `zstd --long=31` writes). */
const ZSTD_WINDOW_LOG_MAX = 31;

type ZstdFactory = (options: { chunkSize?: number; params?: Record<number, number> }) => zlib.Gunzip;

/** Node's own zstd decoder (Node >= 22.15, so Electron's Node), when this runtime has it. */
function nodeZstd(): ZstdFactory | null {
  const candidate = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;
  return typeof candidate === 'function' ? candidate : null;
}

function system(name: string, program: string, args: string[], format: string): Decoder | null {
  const found = findProgram(program);
  if (!found) return null;
  return { name, run: (input) => childDecode(input, { program: found, args, format }) };
}

function gzipDecoder(): Decoder {
  return {
    name: 'zlib',
    run: (input) =>
      inProcessDecode(input, { format: 'gzip', decode: (c) => through(c, zlib.createGunzip({ chunkSize: ZLIB_CHUNK })) }),
  };
}

function zstdBuiltin(): Decoder {
  const native = nodeZstd();
  if (native) {
    const params = { [(zlib.constants as unknown as Record<string, number>).ZSTD_d_windowLogMax ?? 100]: ZSTD_WINDOW_LOG_MAX };
    return {
      name: 'zlib zstd',
      run: (input) => inProcessDecode(input, { format: 'zstd', decode: (c) => through(c, native({ chunkSize: ZLIB_CHUNK, params })) }),
    };
  }
  return {
    name: 'zstd-napi',
    run: (input) =>
      inProcessDecode(input, { format: 'zstd', decode: (c) => through(c, new DecompressStream({ windowLogMax: ZSTD_WINDOW_LOG_MAX })) }),
  };
}

function xzBuiltin(): Decoder {
  return {
    name: 'xz-decompress (wasm)',
    run: (input) =>
      inProcessDecode(input, {
        format: 'xz',
        decode: (c) => Readable.fromWeb(new XzReadableStream(Readable.toWeb(c) as ReadableStream<Uint8Array>) as import('node:stream/web').ReadableStream<Uint8Array>),
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
        decode: (c) => {
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

/**
 * Picks the decoder for a compression. With "auto", a system program (zstd, xz, bzip2) is the fast path
 * when present; "builtin" never spawns a program.
 */
export function chooseDecoder(compression: Exclude<Compression, 'none' | 'zip'>, preference: DecoderPreference): Decoder {
  const auto = preference === 'auto';
  switch (compression) {
    case 'gzip':
      return gzipDecoder();
    case 'zstd':
      return (auto && system('zstd (system)', 'zstd', ['-dcq', '--no-progress', '--memory=2048MB'], 'zstd')) || zstdBuiltin();
    case 'xz':
      return (auto && system('xz (system)', 'xz', ['-dcq', '-T0'], 'xz')) || xzBuiltin();
    case 'bzip2':
      return (
        (auto && (system('lbzip2 (system)', 'lbzip2', ['-dc'], 'bzip2') ?? system('bzip2 (system)', 'bzip2', ['-dc'], 'bzip2'))) ||
        bzip2Builtin()
      );
  }
}
