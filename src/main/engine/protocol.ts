/**
 * The typed message protocol between the engine worker thread and whoever runs it (main, the privileged
 * helper, the CLI). Every message carries the job's `seq`; errors cross serialized with a kind.
 */
import type { ErrorCode } from '../../shared/errors';
import type { FlashLayout, FlashProgress, FlashReport } from '../../shared/report';
import type { ImageAuthOptions, ImageCacheOptions } from './image-options';

/** A validated job for the engine. Policy (which targets are allowed) is decided before this point. */
export interface FlashJob {
  mode: 'copy' | 'verify';
  /** A path, "-" for stdin, or an http(s) URL. */
  image: string;
  /** Explicit bmap file or URL; ignored when noBmap. */
  bmapPath?: string;
  /** Write/verify the whole image, ignoring any bmap. */
  noBmap?: boolean;
  target: string;
  /** Read every written range back from the device (copy mode). Default true. */
  readback: boolean;
  /** Check source ranges against the bmap checksums while streaming. Default true. */
  verifySource: boolean;
  /** Rewrites per range on readback mismatch (0 = none). */
  retries: number;
  /** "auto" may use a system decoder (xz, zstd) as a fast path; "builtin" stays in-process. */
  decoder?: 'auto' | 'builtin';
  /** Refuse anything but a block device (the privileged helper sets this). */
  requireBlockDevice?: boolean;
  /** Signature and checksum options for the image and its bmap. */
  auth?: ImageAuthOptions;
  /** Keep and reuse URL downloads (off when absent). */
  cache?: ImageCacheOptions | null;
}

export interface SerializedError {
  kind: 'engine' | 'internal';
  code: ErrorCode;
  message: string;
}

export type ToWorker = { type: 'start'; seq: number; job: FlashJob } | { type: 'cancel'; seq: number };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type FromWorker =
  | { type: 'started'; seq: number; layout: FlashLayout }
  | { type: 'progress'; seq: number; progress: FlashProgress }
  | { type: 'log'; seq: number; level: LogLevel; message: string }
  /** The job ended; the report's status says how (verified, failed, cancelled, written-unverified). */
  | { type: 'done'; seq: number; report: FlashReport }
  /** The job could not produce a report at all (crash); main treats it as failed. */
  | { type: 'error'; seq: number; error: SerializedError };
