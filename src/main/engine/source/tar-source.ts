/**
 * An image inside a tar archive, raw or compressed: the archive is listed first (raw: by positioned reads of
 * its headers only; compressed: one decoding pass that reads headers and skips data), so an archive with
 * several candidate images is refused before anything is written, and the image member's size and a
 * .bmap member beside it are known. Each pass then yields the image member's bytes only.
 */
import { createReadStream } from 'node:fs';
import { EngineError } from '../errors';
import { detectFormat } from './detect';
import { foreignFormat } from './foreign-formats';
import { diskSignature } from './disk-signature';
import { listTar, fileTarSource, streamTarSource, type TarListing, type TarMember } from './tar-archive';

/** What a tar source plan adds to the outer format's. */
export interface TarPlan {
  member: string;
  imageSize: number;
  embeddedBmap: Buffer | null;
  head: Buffer;
  readAt: ((buf: Uint8Array, offset: number) => Promise<number>) | null;
  pass(): AsyncGenerator<Buffer>;
}

/** Refuses an image member that is itself compressed or a format Sureflash does not read. */
function checkMember(path: string, listing: TarListing): void {
  const { image, imageHead } = listing;
  const nested = detectFormat(imageHead);
  if (nested !== 'none') {
    throw new EngineError('IMAGE_UNREADABLE', `${path}: ${image.name} inside the tar archive is itself ${nested}-compressed. Extract it from the archive and flash the extracted file.`);
  }
  const foreign = foreignFormat(imageHead, null, diskSignature(imageHead) !== null);
  if (foreign) {
    throw new EngineError('IMAGE_UNREADABLE', `${path}: ${image.name} inside the tar archive is ${foreign.what}, which Sureflash does not read: extract it, then ${foreign.how.replace('FILE', image.name)}.`);
  }
}

function plan(listing: TarListing, readAt: TarPlan['readAt'], pass: TarPlan['pass']): TarPlan {
  return { member: listing.image.name, imageSize: listing.image.size, embeddedBmap: listing.embeddedBmap, head: listing.imageHead, readAt, pass };
}

/** A raw .tar file: its headers read in place, the image member read at its offset (holes need no reading). */
export async function planRawTar(
  path: string,
  fileSize: number,
  readAt: (buf: Uint8Array, offset: number) => Promise<number>,
  signal?: AbortSignal,
): Promise<TarPlan> {
  const listing = await listTar(fileTarSource(readAt, fileSize), path, signal);
  checkMember(path, listing);
  const { dataOffset, size } = listing.image;
  const memberReadAt = async (buf: Uint8Array, offset: number): Promise<number> => {
    const length = Math.max(0, Math.min(buf.byteLength, size - offset));
    return length === 0 ? 0 : readAt(buf.subarray(0, length), dataOffset + offset);
  };
  async function* pass(): AsyncGenerator<Buffer> {
    if (size === 0) return;
    const stream = createReadStream(path, { start: dataOffset, end: dataOffset + size - 1, highWaterMark: 1024 * 1024 });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) yield chunk;
    } finally {
      stream.destroy();
    }
  }
  return plan(listing, memberReadAt, pass);
}

/**
 * The member's bytes out of one decoding pass, without copies; then the rest of the archive is decoded
 * and dropped, so the decoder's own check (gzip CRC, xz check, zstd checksum) covers what was yielded.
 */
async function* memberBytes(decode: () => AsyncGenerator<Buffer>, member: TarMember): AsyncGenerator<Buffer> {
  const start = member.dataOffset;
  const end = start + member.size;
  let at = 0;
  for await (const chunk of decode()) {
    const from = Math.max(start, at);
    const to = Math.min(end, at + chunk.length);
    if (to > from) yield chunk.subarray(from - at, to - at);
    at += chunk.length;
  }
}

/** A compressed tar: listed in a first pass over the decoded bytes (or only up to its first image candidate). */
export async function planCompressedTar(path: string, decode: () => AsyncGenerator<Buffer>, signal?: AbortSignal, firstImageOnly = false): Promise<TarPlan> {
  const gen = decode();
  let listing: TarListing;
  try {
    const source = streamTarSource(gen);
    listing = await listTar(source, path, signal, firstImageOnly);
  } finally {
    await gen.return(undefined as unknown as Buffer);
  }
  checkMember(path, listing);
  const member = listing.image;
  return plan(listing, null, () => memberBytes(decode, member));
}
