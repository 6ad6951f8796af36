/** Smallest chunk handed to the consumer (except the last one): a pipe read (64 KiB) passes without a copy. */
export const MIN_CHUNK = 64 * 1024;
/** Larger decoder outputs are split (without copying) so consumers see bounded chunks. */
export const MAX_CHUNK = 8 * 1024 * 1024;

/**
 * Coalesces small decoder outputs into chunks of at least MIN_CHUNK bytes and splits huge ones, so the
 * consumer pays its per-chunk cost rarely. Holds at most one chunk of pending bytes.
 */
export async function* rechunk(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    let chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    if (chunk.length === 0) continue;
    if (pendingBytes === 0 && chunk.length >= MIN_CHUNK) {
      while (chunk.length > MAX_CHUNK) {
        yield chunk.subarray(0, MAX_CHUNK);
        chunk = chunk.subarray(MAX_CHUNK);
      }
      yield chunk;
      continue;
    }
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= MIN_CHUNK) {
      const out = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      yield out;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
