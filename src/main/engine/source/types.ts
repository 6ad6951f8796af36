import type { Compression } from '../../../shared/report';

/** Which decoders a source may use: "auto" allows a system program (xz, zstd) as a fast path. */
export type DecoderPreference = 'auto' | 'builtin';

/**
 * An opened image. Raw regular files offer random access (`readAt`), so holes are skipped without reading;
 * every source offers a fresh sequential stream of the decompressed image from offset 0.
 */
export interface ImageSource {
  /** As given by the user ("-" for stdin). */
  path: string;
  /** Bytes on disk, null for stdin. */
  fileSize: number | null;
  compression: Compression;
  /** Human-readable decoder name for the report, e.g. "raw", "zlib", "xz (system)". */
  decoder: string;
  /** Uncompressed image size when known without decoding everything, else null. */
  imageSize: number | null;
  /**
   * Random access for raw regular files and block devices: fills buf from image offset and returns the bytes
   * read, all of buf unless the image ends first (short reads are read on; 0 at the end).
   */
  readAt: ((buf: Uint8Array, offset: number) => Promise<number>) | null;
  /**
   * Sequential decompressed bytes from offset 0. Errors are EngineErrors naming the file
   * (SOURCE_TRUNCATED, SOURCE_CORRUPT). Breaking out of the loop releases decoders and child processes.
   * Can be called again to re-read (stdin cannot: it throws). `wanted` names the image spans the consumer
   * needs: a decoder may then skip work for the others and yield zeros there (multi-block .xz does).
   * A chunk is valid until the next one is requested: a decoder may refill the same buffer (zstd-napi
   * does), so a consumer that keeps bytes copies them.
   */
  stream(wanted?: (start: number, end: number) => boolean): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
  /**
   * A guess for progress only, never for checks: a gzip file's ISIZE trailer (the size modulo 4 GiB of its
   * last member). Absent or null when there is no such hint.
   */
  sizeHint?: number | null;
  /** A single .bmap member found inside a zip or tar archive. */
  embeddedBmap?: Buffer | null;
  /** Name of the image member inside an archive (zip and tar sources). */
  member?: string | null;
  /**
   * The first bytes of the decoded image (up to 68 KiB: what format and disk-signature checks read), or
   * null when the source is a one-shot stream.
   */
  head?: Buffer | null;
}
