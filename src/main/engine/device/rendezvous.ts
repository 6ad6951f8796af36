/**
 * Where the privileged helper finds the engine: a fresh private directory (0700) holding a Unix socket (0600),
 * the transfer buffer (0600, see device-wire.ts), when the native module is there a second socket (0600) where
 * the helper hands over the opened drive's descriptor, and a 0600 file with {socketPath, bufferPath,
 * handoverPath, token}; only the file's path goes on the helper's command line. The
 * first client is the only one ever taken (the listener closes then); it must prove the token within a few
 * seconds (see remote-target.ts), compared in constant time.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeIo } from '../../system/native-io';
import { EngineError } from '../errors';
import { BUFFER_BYTES, type RendezvousFile } from './device-wire';

export const TOKEN_BYTES = 32;

export interface Rendezvous {
  /** The helper's argument: the file with {socketPath, token}. */
  readonly file: string;
  readonly token: string;
  /** The transfer buffer (BUFFER_BYTES, sparse). */
  readonly bufferPath: string;
  /** The first client's connection (later ones are refused). */
  readonly client: Promise<Socket>;
  /** The handover socket (listening descriptor and path), when the native module is there. */
  readonly handover: { fd: number; path: string } | null;
  /** Stops listening and removes the private directory (a connection already taken stays open). */
  close(): Promise<void>;
}

/** Constant-time comparison of two tokens (different lengths compare unequal). */
export function tokensMatch(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function openRendezvous(): Promise<Rendezvous> {
  if (process.platform === 'win32') throw new EngineError('TARGET_INVALID', 'the administrator helper is implemented for Linux only in this version');
  // The temporary directory, also for the transfer buffer: measured faster here than tmpfs (/dev/shm), where
  // the bench's loop device lives too (2.9 s against 3.7 s, median of 3 pairs of the bench's copy).
  const dir = await mkdtemp(join(tmpdir(), 'sureflash-helper-'));
  await chmod(dir, 0o700);
  const token = randomBytes(TOKEN_BYTES).toString('hex');
  const socketPath = join(dir, 'helper.sock');
  const server = createServer();
  let resolveClient!: (socket: Socket) => void;
  let rejectClient!: (err: Error) => void;
  const client = new Promise<Socket>((resolve, reject) => ((resolveClient = resolve), (rejectClient = reject)));
  client.catch(() => undefined);
  let taken = false;
  let handover: { fd: number; path: string } | null = null;
  const stopHandover = (): void => {
    if (handover) nativeIo()?.closeFd(handover.fd);
    handover = null;
  };
  server.on('connection', (socket) => {
    if (taken) return void socket.destroy();
    taken = true;
    server.close();
    resolveClient(socket);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        server.on('error', () => undefined); // a failing accept must not take the engine down
        resolve();
      });
    });
    await chmod(socketPath, 0o600);
    const io = nativeIo();
    if (io) {
      const path = join(dir, 'handover.sock');
      handover = { fd: io.listenUnix(path), path };
      await chmod(path, 0o600);
    }
    const bufferPath = join(dir, 'transfer.buf');
    const buffer = await open(bufferPath, 'wx', 0o600);
    await buffer.truncate(BUFFER_BYTES).finally(() => buffer.close());
    const file = join(dir, 'rendezvous.json');
    const handoverPath = (handover as { path: string } | null)?.path ?? null;
    await writeFile(file, JSON.stringify({ socketPath, bufferPath, handoverPath, token } satisfies RendezvousFile), { mode: 0o600, flag: 'wx' });
    return {
      file,
      token,
      bufferPath,
      client,
      handover,
      close: async () => {
        server.close();
        stopHandover();
        rejectClient(new EngineError('CANCELLED', 'the helper channel was closed'));
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    server.close();
    stopHandover();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
