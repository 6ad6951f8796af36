import { promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Compression } from '../../../shared/report';
import { EngineError } from '../errors';
import type { DecoderPreference, ImageSource } from './types';
import { looksLikeBmap } from '../bmap-parser';
import { detectFormat } from './detect';
import { openFileInput, openStreamInput, imageOpenError, type ByteInput } from './input';
import { chooseDecoder } from './decoders';
import { rechunk } from './rechunk';
import { xzImageSize, zstdImageSize } from './image-size';
import { openZipImage, type ZipImage } from './zip-archive';
import { classifyFailure, decodeFailure } from './decode-error';

export interface OpenSourceOptions {
  decoder: DecoderPreference;
  /** Stream used for "-" (defaults to process.stdin); lets tests feed stdin. */
  stdin?: Readable;
}

async function* zipMemberStream(path: string, zip: ZipImage): AsyncGenerator<Buffer> {
  const stream = await zip.openMember();
  let bytesOut = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytesOut += chunk.length;
      yield chunk;
    }
  } catch (err) {
    if (err instanceof EngineError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw decodeFailure(path, 'zip', classifyFailure(message, false), bytesOut, message);
  } finally {
    stream.destroy();
  }
}

/** Random access into a raw regular file; the handle opens on first use and closes with the source. */
function rawReader(path: string): { readAt: (buf: Uint8Array, offset: number) => Promise<number>; close: () => Promise<void> } {
  let handle: Promise<fsp.FileHandle> | null = null;
  return {
    readAt: async (buf, offset) => {
      handle ??= fsp.open(path, 'r').catch((err: unknown) => {
        throw imageOpenError(path, err);
      });
      const { bytesRead } = await (await handle).read(buf, 0, buf.byteLength, offset);
      return bytesRead;
    },
    close: async () => {
      if (handle) await (await handle).close().catch(() => undefined);
      handle = null;
    },
  };
}

/**
 * Opens an image ("-" = stdin) and recognises its compression from its first bytes. Throws EngineError:
 * IMAGE_NOT_FOUND, IMAGE_UNREADABLE, IMAGE_IS_BMAP, ARCHIVE_EMPTY, ARCHIVE_AMBIGUOUS, SOURCE_TRUNCATED.
 */
export async function openSource(path: string, opts: OpenSourceOptions): Promise<ImageSource> {
  const input: ByteInput = path === '-' ? await openStreamInput(opts.stdin ?? process.stdin, '-') : await openFileInput(path);
  if (looksLikeBmap(input.head)) {
    throw new EngineError('IMAGE_IS_BMAP', `${path} is a bmap file, not an image: pass the image and give the bmap with --bmap.`);
  }
  const format = detectFormat(input.head);
  if (format === 'lz4') {
    throw new EngineError('IMAGE_UNREADABLE', `${path} is lz4-compressed, which Sureflash does not read: decompress it first (lz4 -d).`);
  }
  if (format === 'zip' && input.kind !== 'file') {
    throw new EngineError('IMAGE_UNREADABLE', `${path}: a zip archive cannot be read from a pipe or standard input: pass the file itself.`);
  }

  const active = new Set<AsyncGenerator<Buffer>>();
  // Every pass is tracked so close() can stop it (killing a decoder child) even if the consumer did not.
  const track = (make: () => AsyncGenerator<Buffer>): AsyncIterable<Uint8Array> => ({
    [Symbol.asyncIterator]: () => {
      const self: { pass?: AsyncGenerator<Buffer> } = {};
      const pass = (async function* () {
        try {
          let bytes = 0;
          for await (const chunk of rechunk(make())) {
            bytes += chunk.length;
            yield chunk;
          }
          // The header/index promised a size: a decoder that stops short (or runs long) must not pass silently.
          if (imageSize !== null && bytes !== imageSize) {
            const detail = `the ${compression === 'none' ? 'file' : compression + ' header'} says ${imageSize} bytes`;
            throw decodeFailure(path, compression === 'none' ? 'raw' : compression, bytes < imageSize ? 'truncated' : 'corrupt', bytes, detail);
          }
        } finally {
          if (self.pass) active.delete(self.pass);
        }
      })();
      self.pass = pass;
      active.add(pass);
      return pass;
    },
  });

  let compression: Compression;
  let decoder: string;
  let imageSize: number | null = null;
  let readAt: ImageSource['readAt'] = null;
  let embeddedBmap: Buffer | null = null;
  let member: string | null = null;
  let stream: () => AsyncIterable<Uint8Array>;
  let closeExtra: () => Promise<void> | void = () => undefined;

  if (format === 'none') {
    compression = 'none';
    decoder = 'raw';
    if (input.kind === 'file') {
      imageSize = input.size;
      const reader = rawReader(path);
      readAt = reader.readAt;
      closeExtra = reader.close;
    }
    stream = () => track(() => passThrough(input));
  } else if (format === 'zip') {
    const zip = await openZipImage(path);
    compression = 'zip';
    decoder = 'zip (zlib)';
    imageSize = zip.imageSize;
    embeddedBmap = zip.embeddedBmap;
    member = zip.member;
    closeExtra = () => zip.close();
    stream = () => track(() => zipMemberStream(path, zip));
  } else {
    compression = format;
    const chosen = chooseDecoder(format, opts.decoder);
    decoder = chosen.name;
    if (input.kind === 'file' && input.size !== null) {
      if (format === 'xz') imageSize = await xzImageSize(path).catch(() => null);
      if (format === 'zstd') imageSize = await zstdImageSize(path).catch(() => null);
    }
    stream = () => track(() => chosen.run(input));
  }

  return {
    path,
    fileSize: input.size,
    compression,
    decoder,
    imageSize,
    readAt,
    embeddedBmap,
    member,
    stream,
    close: async () => {
      const open = [...active];
      active.clear();
      await Promise.all(open.map((it) => it.return(undefined as unknown as Buffer).catch(() => undefined)));
      await closeExtra();
    },
  };
}

async function* passThrough(input: ByteInput): AsyncGenerator<Buffer> {
  const stream = input.open();
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) yield chunk;
  } catch (err) {
    throw input.kind === 'file' ? imageOpenError(input.path, err) : err;
  } finally {
    stream.destroy();
  }
}
