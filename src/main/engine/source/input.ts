import { createReadStream, promises as fsp } from 'node:fs';
import { Readable } from 'node:stream';
import { EngineError } from '../errors';
import { HEAD_BYTES } from './detect';

/** Read size for compressed input and raw streaming. */
export const READ_CHUNK = 1024 * 1024;

/**
 * The bytes as stored (compressed or not): a file that can be re-read at will (a regular file, or a block
 * device whose size stat does not give), or a stream read once (stdin, a pipe such as <(curl ...)).
 */
export type ByteInput =
  | { kind: 'file'; path: string; size: number | null; head: Buffer; open(readSize?: number): Readable }
  | { kind: 'stream'; path: string; size: null; head: Buffer; open(readSize?: number): Readable };

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** Maps an fs failure on the image path to IMAGE_NOT_FOUND / IMAGE_UNREADABLE naming the path. */
export function imageOpenError(path: string, err: unknown): EngineError {
  const code = errnoCode(err);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new EngineError('IMAGE_NOT_FOUND', `Image not found: ${path}`);
  if (code === 'EACCES' || code === 'EPERM') {
    return new EngineError('IMAGE_UNREADABLE', `Cannot read ${path}: permission denied. Check the file's permissions.`);
  }
  if (code === 'EISDIR') return new EngineError('IMAGE_UNREADABLE', `${path} is a directory, not an image file.`);
  const detail = err instanceof Error ? err.message : String(err);
  return new EngineError('IMAGE_UNREADABLE', `Cannot read ${path}: ${detail}`);
}

/** Opens a regular file (or block device) for reading, reads its head, and checks it is not a directory. */
export async function openFileInput(path: string): Promise<ByteInput> {
  let stat;
  try {
    stat = await fsp.stat(path);
  } catch (err) {
    throw imageOpenError(path, err);
  }
  if (stat.isDirectory()) throw imageOpenError(path, Object.assign(new Error('directory'), { code: 'EISDIR' }));
  if (stat.isFIFO() || stat.isSocket() || stat.isCharacterDevice()) {
    return openStreamInput(createReadStream(path, { highWaterMark: READ_CHUNK }), path);
  }
  let head: Buffer;
  try {
    const handle = await fsp.open(path, 'r');
    try {
      const buf = Buffer.alloc(HEAD_BYTES);
      const { bytesRead } = await handle.read(buf, 0, HEAD_BYTES, 0);
      head = buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw imageOpenError(path, err);
  }
  return {
    kind: 'file',
    path,
    size: stat.isFile() ? stat.size : null,
    head,
    open: (readSize = READ_CHUNK) => createReadStream(path, { highWaterMark: readSize }),
  };
}

/** Reads the head of a one-shot stream (stdin, a pipe); the input can be opened once and replays the head. */
export async function openStreamInput(stdin: Readable, path: string): Promise<ByteInput> {
  const parts: Buffer[] = [];
  let got = 0;
  const iterator = stdin[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  while (got < HEAD_BYTES) {
    const next = await iterator.next();
    if (next.done) break;
    parts.push(next.value);
    got += next.value.length;
  }
  const head = Buffer.concat(parts);
  let opened = false;
  return {
    kind: 'stream',
    path,
    size: null,
    head: head.subarray(0, HEAD_BYTES),
    open: () => {
      if (opened) {
        const what = path === '-' ? 'standard input' : `${path}, a pipe,`;
        throw new EngineError('USAGE', `The image comes from ${what} which can be read only once.`);
      }
      opened = true;
      async function* replay(): AsyncGenerator<Buffer> {
        yield head;
        for (;;) {
          const next = await iterator.next();
          if (next.done) return;
          yield next.value;
        }
      }
      return Readable.from(replay(), { objectMode: false });
    },
  };
}
