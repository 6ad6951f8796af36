/**
 * An image on an HTTP(S) server as an ImageSource, streamed and memory-bounded like a file: compressed
 * images through the same decoders (over a resumable stream of the bytes as stored), raw images with
 * random access (`readAt`) that fetches only the mapped spans when a bmap gives them. Every whole pass is
 * hashed (sha256 of the bytes as stored) and may be written to the download cache as it goes.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ChecksumInfo } from '../../../../shared/authenticity';
import { EngineError } from '../../errors';
import { chooseDecoder } from '../decoders';
import { classifyFailure, decodeFailure } from '../decode-error';
import { refuseForeign } from '../open-source';
import { looksLikeTar } from '../tar-archive';
import { detectFormat } from '../detect';
import type { ByteInput } from '../input';
import { rechunk } from '../rechunk';
import type { DecoderPreference, ImageSource } from '../types';
import type { ZipImage } from '../zip-archive';
import type { DownloadMeter } from './download-meter';
import { RangePrefetcher, type Span } from './range-prefetcher';
import type { RemoteFile } from './remote-file';

/** Receives every byte of one whole pass; committed only when the pass reached the end intact. */
export interface PassSink {
  write(chunk: Uint8Array): Promise<void>;
  /** The pass ended with all `size` bytes, whose sha256 is `sha256`. */
  commit(sha256: string, size: number): Promise<void>;
  abort(): Promise<void>;
}

export interface UrlSourceOptions {
  decoder: DecoderPreference;
  /** Byte spans a raw image's bmap maps: `readAt` then fetches only these. Null/absent: no random access. */
  spans?: readonly Span[] | null;
  /** The published sha256 of the file as stored, checked at the end of every whole pass. */
  sha256?: { hex: string; source: string } | null;
  /** Opens a sink for a whole pass (the cache); a raw image is then streamed whole, not fetched by ranges. */
  sink?: (() => Promise<PassSink | null>) | null;
  /** The opened archive when the image is a zip (see openRemoteZip). */
  zip?: ZipImage | null;
}

/** The zip member's bytes, read through Range requests; failures named like a local archive's. */
async function* zipMember(path: string, zip: ZipImage): AsyncGenerator<Buffer> {
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

/** An ImageSource read from a URL, with what only downloads have. */
export interface UrlImageSource extends ImageSource {
  remote: RemoteFile;
  download: DownloadMeter;
  /** The published sha256 and where its check stands. */
  checksum(): ChecksumInfo;
  /** Bytes the mapped-only plan fetches (raw + bmap), else null. */
  plannedBytes: number | null;
}

/**
 * Opens the image at `remote` (already probed). Throws EngineError for what can be known now: a bmap
 * served as the image, lz4, or a zip archive (read through the zip reader instead).
 */
function tarFromUrl(path: string): EngineError {
  return new EngineError('IMAGE_UNREADABLE', `${path} holds a tar archive, which Sureflash reads from files only: download it, then flash the file.`);
}

export async function openUrlSource(remote: RemoteFile, options: UrlSourceOptions): Promise<UrlImageSource> {
  const format = detectFormat(remote.head);
  const path = remote.display;
  if (format === 'none') {
    if (looksLikeTar(remote.head)) throw tarFromUrl(path);
    refuseForeign(path, remote.head, null, 'none');
  }
  const zip = format === 'zip' ? (options.zip ?? null) : null;
  if (format === 'zip' && !zip) throw new EngineError('INTERNAL', `${path}: a zip archive must be opened with openRemoteZip first`);
  const expected = options.sha256 ?? null;
  const sink = options.sink ?? null;
  let checksum: ChecksumInfo = expected ? { kind: 'sha256', status: 'pending', source: expected.source } : { kind: 'sha256', status: 'none' };
  const prefetch = format === 'none' && remote.ranges && options.spans && !sink ? new RangePrefetcher(remote, options.spans) : null;
  // Only part of the file is fetched (mapped ranges, or a zip's directory and member): no whole-file hash.
  if ((prefetch || zip) && expected) checksum = { kind: 'sha256', status: 'not-checked', source: expected.source };

  /** One whole pass over the bytes as stored: hashed, written to the sink, checked at its end. */
  async function* storedBytes(): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    const opened = sink ? await sink() : null;
    let size = 0;
    let complete = false;
    try {
      for await (const chunk of remote.read(0)) {
        hash.update(chunk);
        size += chunk.length;
        if (opened) await opened.write(chunk);
        yield chunk;
      }
      complete = true;
      const digest = hash.digest('hex');
      if (expected) {
        const matches = digest === expected.hex.toLowerCase();
        checksum = { kind: 'sha256', status: matches ? 'matches' : 'mismatch', source: expected.source };
        if (!matches) {
          throw new EngineError(
            'CHECKSUM_MISMATCH',
            `${path} does not match its published sha256 (${expected.source}): got ${digest}, expected ${expected.hex.toLowerCase()}. Whatever was written from it must not be used.`,
          );
        }
      }
      if (opened) await opened.commit(digest, size);
    } finally {
      if (opened && !(complete && checksum.status !== 'mismatch')) await opened.abort();
    }
  }

  const input: ByteInput = {
    kind: 'stream',
    path,
    size: null,
    head: remote.head,
    open: () => Readable.from(storedBytes(), { objectMode: false }),
  };
  const decoder = format === 'none' || format === 'zip' ? null : await chooseDecoder(format, options.decoder);
  const active = new Set<AsyncGenerator<Buffer>>();
  const pass = (): AsyncGenerator<Buffer> => {
    const generator = zip ? zipMember(path, zip) : decoder ? decoder.run(input) : storedBytes();
    const holder: { self: AsyncGenerator<Buffer> | null } = { self: null };
    const wrapped = (async function* () {
      try {
        let checked = format === 'none' || format === 'zip';
        for await (const chunk of rechunk(generator)) {
          // A compressed tar or foreign container from a URL is refused on its first decoded bytes, before
          // any of it reaches a card.
          if (!checked) {
            checked = true;
            if (looksLikeTar(chunk)) throw tarFromUrl(path);
            refuseForeign(path, chunk, null, format);
          }
          yield chunk;
        }
      } finally {
        if (holder.self) active.delete(holder.self);
      }
    })();
    holder.self = wrapped;
    active.add(wrapped);
    return wrapped;
  };
  return {
    path,
    fileSize: remote.size,
    compression: format,
    decoder: zip ? 'zip (zlib)' : decoder ? decoder.name : 'raw',
    imageSize: format === 'none' ? remote.size : (zip?.imageSize ?? null),
    embeddedBmap: zip?.embeddedBmap ?? null,
    member: zip?.member ?? null,
    readAt: prefetch ? prefetch.readAt : null,
    stream: () => ({ [Symbol.asyncIterator]: pass }),
    close: async () => {
      const open = [...active];
      active.clear();
      await Promise.all(open.map((p) => p.return(undefined as unknown as Buffer).catch(() => undefined)));
      await prefetch?.close();
      zip?.close();
    },
    remote,
    download: remote.meter,
    checksum: () => checksum,
    plannedBytes: prefetch ? prefetch.plannedBytes : null,
  };
}
