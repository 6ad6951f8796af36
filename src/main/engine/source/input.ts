import { closeSync, constants, createReadStream, openSync, promises as fsp, readSync } from 'node:fs';
import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { EngineError } from '../errors';
import { HEAD_BYTES } from './detect';
import { nonRegularKind } from './file-kind';

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

/**
 * A FIFO opened without blocking (a plain open waits, in a thread no signal reaches, until some program
 * opens the other end) and read through libuv's pipe handle, which waits for data without holding a
 * thread. One read at once tells whether anything writes into it: it returns 0 only when no program holds
 * the other end (a writer that is still starting is already counted), and such a FIFO is refused now.
 */
function openFifo(path: string): Readable {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw imageOpenError(path, err);
  }
  const first = Buffer.alloc(64 * 1024);
  let got = -1;
  try {
    got = readSync(fd, first, 0, first.length, null);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') {
      closeSync(fd);
      throw imageOpenError(path, err);
    }
  }
  if (got === 0) {
    closeSync(fd);
    throw new EngineError('IMAGE_UNREADABLE', `${path} is a FIFO (named pipe) and nothing writes into it: start the program that writes the image into it first, or give the image file itself.`);
  }
  const socket = new Socket({ fd, readable: true, writable: false });
  async function* bytes(): AsyncGenerator<Buffer> {
    try {
      if (got > 0) yield first.subarray(0, got);
      for await (const chunk of socket as AsyncIterable<Buffer>) yield chunk;
    } finally {
      socket.destroy();
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}

/**
 * Opens the image for reading and reads its head. A regular file or a block device (copying a card to a
 * card) can be re-read; a FIFO (such as bash's <(curl ...)) is read once, like stdin. Anything else is
 * refused before it is opened: a directory, a character device (/dev/zero never ends), a socket.
 */
export async function openFileInput(path: string): Promise<ByteInput> {
  let stat;
  try {
    stat = await fsp.stat(path);
  } catch (err) {
    throw imageOpenError(path, err);
  }
  if (stat.isDirectory()) throw imageOpenError(path, Object.assign(new Error('directory'), { code: 'EISDIR' }));
  if (stat.isFIFO()) {
    return openStreamInput(openFifo(path), path);
  }
  const kind = nonRegularKind(stat);
  if (kind && !stat.isBlockDevice()) {
    throw new EngineError('IMAGE_UNREADABLE', `${path} is ${kind}, not an image file: give the path of the image file (or "-" to read standard input).`);
  }
  let head: Buffer;
  try {
    const handle = await fsp.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
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
