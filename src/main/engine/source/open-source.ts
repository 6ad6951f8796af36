import { createReadStream, promises as fsp } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import type { Readable } from 'node:stream';
import type { Compression } from '../../../shared/report';
import { EngineError } from '../errors';
import type { DecoderPreference, ImageSource } from './types';
import { looksLikeBmap } from '../bmap-parser';
import { detectFormat } from './detect';
import { openFileInput, openStreamInput, imageOpenError, READ_CHUNK, type ByteInput } from './input';
import { chooseDecoder, XZ_ARGS } from './decoders';
import { rechunk } from './rechunk';
import { xzLayout, xzSparsePass, type WantedSpan } from './xz-sparse';
import { gzipSizeHint, TruncatedImageError, xzImageSize, ZstdDictionaryError, zstdImageSize } from './image-size';
import { diskSignature, DISK_SIGNATURE_BYTES } from './disk-signature';
import { foreignFormat } from './foreign-formats';
import { looksLikeTar } from './tar-archive';
import { planCompressedTar, planRawTar } from './tar-source';
import { openZipImage, type ZipImage } from './zip-archive';
import { classifyFailure, decodeFailure } from './decode-error';

export interface OpenSourceOptions {
  decoder: DecoderPreference;
  /** Stream used for "-" (defaults to the process's file descriptor 0); lets tests feed stdin. */
  stdin?: Readable;
  /** Stops what opening may take long for (listing a compressed tar) with CANCELLED. */
  signal?: AbortSignal;
  /**
   * A compressed tar is listed whole by default (one decoding pass, so several candidate images are refused
   * and a .bmap member after the image is found); "first-image" stops at the first candidate (a quick look).
   */
  compressedTar?: 'full' | 'first-image';
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

/**
 * Random access into a raw regular file; the handle opens on first use and closes with the source. readAt
 * returns the bytes read: all of `buf` unless the file ends first.
 */
function rawReader(path: string): { readAt: (buf: Uint8Array, offset: number) => Promise<number>; close: () => Promise<void> } {
  let handle: Promise<fsp.FileHandle> | null = null;
  return {
    readAt: async (buf, offset) => {
      handle ??= fsp.open(path, 'r').catch((err: unknown) => {
        throw imageOpenError(path, err);
      });
      // A read may return less than asked before the end of the file (network and FUSE filesystems do):
      // read on until the buffer is full or the file ends, so no stale bytes are left in it.
      const file = await handle;
      let filled = 0;
      while (filled < buf.byteLength) {
        const { bytesRead } = await file.read(buf, filled, buf.byteLength - filled, offset + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled;
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
/**
 * Standard input as a stream. The engine runs in a worker thread, whose `process.stdin` is not the
 * process's: read descriptor 0 itself (the main thread of the CLI never reads it).
 */
function processStdin(): Readable {
  return isMainThread ? process.stdin : createReadStream('', { fd: 0, autoClose: false, highWaterMark: READ_CHUNK });
}

export async function openSource(path: string, opts: OpenSourceOptions): Promise<ImageSource> {
  const input: ByteInput = path === '-' ? await openStreamInput(opts.stdin ?? processStdin(), '-') : await openFileInput(path);
  if (looksLikeBmap(input.head)) {
    throw new EngineError('IMAGE_IS_BMAP', `${path} is a bmap file, not an image: pass the image and give the bmap with --bmap.`);
  }
  const plan = await planSource(path, input, opts);
  const active = new Set<AsyncGenerator<Buffer>>();
  return {
    path,
    fileSize: input.size,
    compression: plan.compression,
    decoder: plan.decoder,
    imageSize: plan.imageSize,
    readAt: plan.readAt,
    embeddedBmap: plan.embeddedBmap,
    member: plan.member,
    sizeHint: plan.sizeHint,
    head: plan.head,
    stream: (wanted) => ({ [Symbol.asyncIterator]: () => startPass(active, path, plan, wanted) }),
    close: async () => {
      const open = [...active];
      active.clear();
      await Promise.all(open.map((pass) => pass.return(undefined as unknown as Buffer).catch(() => undefined)));
      await plan.close();
    },
  };
}

/** How an opened image is read: everything openSource learned, plus one pass's generator. */
interface SourcePlan {
  compression: Compression;
  decoder: string;
  imageSize: number | null;
  readAt: ImageSource['readAt'];
  embeddedBmap: Buffer | null;
  member: string | null;
  sizeHint: number | null;
  /** The first bytes of the (decoded) image, as many as format checks need, or null for a one-shot stream. */
  head: Buffer | null;
  pass(wanted?: WantedSpan): AsyncGenerator<Buffer>;
  close(): Promise<void> | void;
}

/** The first `length` bytes one pass yields (a copy); decoding errors in them are thrown. */
async function decodedHead(pass: AsyncGenerator<Buffer>, length: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  try {
    for await (const chunk of pass) {
      parts.push(Buffer.from(chunk));
      got += chunk.length;
      if (got >= length) break;
    }
  } finally {
    await pass.return(undefined as unknown as Buffer);
  }
  return Buffer.concat(parts, got).subarray(0, length);
}

/** The last 512 bytes of a file (where an Apple disk image keeps its mark), or null. */
async function fileTail(path: string, size: number | null): Promise<Buffer | null> {
  if (size === null || size < 512) return null;
  const handle = await fsp.open(path, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await handle.read(buf, 0, 512, size - 512);
    return bytesRead === 512 ? buf : null;
  } finally {
    await handle.close();
  }
}

/** Refuses a container Sureflash does not read (see foreign-formats.ts), before anything is written. */
export function refuseForeign(path: string, head: Uint8Array, tail: Uint8Array | null, compression: Compression): void {
  const foreign = foreignFormat(head, tail, diskSignature(head) !== null);
  if (!foreign) return;
  const how = foreign.how.replace('FILE', path);
  if (compression === 'none') throw new EngineError('IMAGE_UNREADABLE', `${path} is ${foreign.what}, which Sureflash does not read: ${how}.`);
  throw new EngineError('IMAGE_UNREADABLE', `${path} is ${compression}-compressed and holds ${foreign.what}, which Sureflash does not read: decompress it, then ${how}.`);
}

function refuseStreamTar(path: string): never {
  throw new EngineError('IMAGE_UNREADABLE', `${path === '-' ? 'standard input' : path} holds a tar archive, which cannot be read from a pipe or standard input: pass the file itself.`);
}

async function planSource(path: string, input: ByteInput, opts: OpenSourceOptions): Promise<SourcePlan> {
  const { decoder: preference, signal } = opts;
  const format = detectFormat(input.head);
  const base = { embeddedBmap: null, member: null, readAt: null, sizeHint: null, head: null, close: () => undefined };
  if (format === 'none') {
    const reader = input.kind === 'file' ? rawReader(path) : null;
    const close = (): Promise<void> | undefined => reader?.close();
    try {
      if (looksLikeTar(input.head)) {
        if (!reader) refuseStreamTar(path);
        const tar = await planRawTar(path, input.size ?? (await fsp.stat(path)).size, reader.readAt, signal);
        return { ...base, compression: 'none', decoder: 'tar', imageSize: tar.imageSize, readAt: tar.readAt, embeddedBmap: tar.embeddedBmap, member: tar.member, head: tar.head, pass: tar.pass, close };
      }
      let head: Buffer | null = null;
      if (reader) {
        const buf = Buffer.alloc(DISK_SIGNATURE_BYTES);
        head = buf.subarray(0, await reader.readAt(buf, 0));
      }
      refuseForeign(path, head ?? input.head, input.kind === 'file' ? await fileTail(path, input.size) : null, 'none');
      return { ...base, compression: 'none', decoder: 'raw', imageSize: input.size, readAt: reader?.readAt ?? null, head, pass: () => passThrough(input), close };
    } catch (err) {
      await close();
      throw err;
    }
  }
  if (format === 'zip') {
    if (input.kind !== 'file') {
      throw new EngineError('IMAGE_UNREADABLE', `${path}: a zip archive cannot be read from a pipe or standard input: pass the file itself.`);
    }
    const zip = await openZipImage(path);
    return {
      ...base,
      compression: 'zip',
      decoder: 'zip (zlib)',
      imageSize: zip.imageSize,
      embeddedBmap: zip.embeddedBmap,
      member: zip.member,
      head: zip.head,
      pass: () => zipMemberStream(path, zip),
      close: () => zip.close(),
    };
  }
  const chosen = await chooseDecoder(format, preference);
  let imageSize: number | null = null;
  let sizeHint: number | null = null;
  if (input.kind === 'file' && input.size !== null) {
    if (format === 'gzip') sizeHint = await gzipSizeHint(path).catch(() => null);
    // A file whose structure shows it was cut short is refused now, before anything is written.
    const refuse = (err: unknown): null => {
      if (err instanceof TruncatedImageError) throw decodeFailure(path, format, 'truncated', 0, `${err.message}, seen before decoding`);
      if (err instanceof ZstdDictionaryError) {
        throw new EngineError('IMAGE_UNREADABLE', `${path} was compressed with a zstd dictionary (id ${err.id}), which Sureflash does not have: decompress it with that dictionary first (zstd -d -D DICT).`);
      }
      return null;
    };
    if (format === 'xz') imageSize = await xzImageSize(path).catch(refuse);
    if (format === 'zstd') imageSize = await zstdImageSize(path).catch(refuse);
  }
  // A multi-block .xz read by the system xz: blocks with nothing wanted are not decoded at all.
  const layout = format === 'xz' && chosen.name === 'xz (system)' && input.kind === 'file' && input.size !== null ? xzLayout(path, input.size) : null;
  const sparse = layout && layout.blocks.length > 1 ? layout : null;
  const decode = (): AsyncGenerator<Buffer> => chosen.run(input);
  if (input.kind !== 'file') {
    // Read once: the first decoded bytes are checked inside the pass (checkedPass), before they are used.
    return { ...base, compression: format, decoder: chosen.name, imageSize, sizeHint, pass: decode };
  }
  const head = await decodedHead(chosen.head ? chosen.head(input) : decode(), DISK_SIGNATURE_BYTES);
  if (looksLikeTar(head)) {
    const tar = await planCompressedTar(path, decode, signal, opts.compressedTar === 'first-image');
    return { ...base, compression: format, decoder: `${chosen.name}, tar`, imageSize: tar.imageSize, embeddedBmap: tar.embeddedBmap, member: tar.member, head: tar.head, pass: tar.pass };
  }
  refuseForeign(path, head, null, format);
  return {
    ...base,
    compression: format,
    decoder: chosen.name,
    imageSize,
    sizeHint,
    head,
    pass: (wanted) => (sparse && wanted ? xzSparsePass(path, sparse, wanted, XZ_ARGS) : decode()),
  };
}

/**
 * One pass over the image in consumer-friendly chunks, registered in `active` so close() can stop it (and
 * its decoder child) even when the consumer did not. A size promised by the file, the xz index or the zstd
 * header must match what came out: a decoder that stops short must not pass silently.
 */
function startPass(active: Set<AsyncGenerator<Buffer>>, path: string, plan: SourcePlan, wanted?: WantedSpan): AsyncGenerator<Buffer> {
  const pass = checkedPass(path, plan, () => active.delete(pass), wanted);
  active.add(pass);
  return pass;
}

async function* checkedPass(path: string, plan: SourcePlan, finished: () => void, wanted?: WantedSpan): AsyncGenerator<Buffer> {
  try {
    let bytes = 0;
    for await (const chunk of rechunk(plan.pass(wanted))) {
      // A one-shot stream could not be looked into before: its first bytes are checked before any is used.
      if (bytes === 0 && plan.head === null) {
        if (looksLikeTar(chunk)) refuseStreamTar(path);
        refuseForeign(path, chunk, null, plan.compression);
      }
      bytes += chunk.length;
      yield chunk;
    }
    const { imageSize, compression } = plan;
    if (imageSize !== null && bytes !== imageSize) {
      const format = compression === 'none' ? 'raw' : compression;
      const detail = `the ${compression === 'none' ? 'file size' : `${compression} header`} says ${imageSize} bytes`;
      throw decodeFailure(path, format, bytes < imageSize ? 'truncated' : 'corrupt', bytes, detail);
    }
  } finally {
    finished();
  }
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
