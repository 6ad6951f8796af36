/**
 * Main's side of the channel to the privileged helper. A fresh private directory (0700) holds a Unix socket
 * (a named pipe on Windows) and a 0600 file with {socketPath, token}; only the file's path goes on the
 * helper's command line. The first client must present the token (compared in constant time); anyone
 * else, or a wrong token, is disconnected and the job refused. Exactly one helper is ever accepted.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../engine/errors';
import { isHelperAuth, type RendezvousFile } from './helper-messages';
import { readLines } from './line-channel';

export interface RendezvousOptions {
  /** Messages the authenticated helper sends after its token. */
  onMessage(message: unknown): void;
  /** The authenticated helper's connection ended. */
  onClose(): void;
  /** How long a connected client may take to present the token. */
  authTimeoutMs?: number;
}

export interface Rendezvous {
  /** The helper's only argument: the file with {socketPath, token}. */
  readonly file: string;
  /** Resolves with the helper's socket once it proved it holds the token; rejects when a client failed. */
  readonly helper: Promise<Socket>;
  /** Stops listening and removes the private directory (the helper's connection, if any, is closed). */
  close(): Promise<void>;
}

export const TOKEN_BYTES = 32;

/** Constant-time comparison of two hex tokens (different lengths compare unequal). */
export function tokensMatch(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function openRendezvous(options: RendezvousOptions): Promise<Rendezvous> {
  const dir = await mkdtemp(join(tmpdir(), 'sureflash-helper-'));
  await chmod(dir, 0o700);
  const token = randomBytes(TOKEN_BYTES).toString('hex');
  const socketPath =
    process.platform === 'win32' ? `\\\\.\\pipe\\sureflash-${randomBytes(16).toString('hex')}` : join(dir, 'helper.sock');
  const server = createServer();
  let accepted: Socket | null = null;
  let seenClient = false;

  let resolveHelper!: (socket: Socket) => void;
  let rejectHelper!: (err: Error) => void;
  const helper = new Promise<Socket>((resolve, reject) => ((resolveHelper = resolve), (rejectHelper = reject)));
  helper.catch(() => undefined);
  const refuse = (socket: Socket, why: string): void => {
    socket.destroy();
    server.close();
    rejectHelper(new EngineError('INTERNAL', `The administrator helper could not be trusted (${why}); nothing was written. Try again.`));
  };

  server.on('connection', (socket) => {
    if (seenClient) {
      socket.destroy();
      return;
    }
    seenClient = true;
    const timer = setTimeout(() => refuse(socket, 'it did not identify itself'), options.authTimeoutMs ?? 10_000);
    readLines(
      socket,
      (message) => {
        if (accepted) {
          options.onMessage(message);
          return;
        }
        clearTimeout(timer);
        if (!isHelperAuth(message) || !tokensMatch(token, message.token)) {
          refuse(socket, 'wrong token');
          return;
        }
        accepted = socket;
        server.close();
        socket.on('close', () => options.onClose());
        resolveHelper(socket);
      },
      (reason) => {
        clearTimeout(timer);
        if (accepted) {
          socket.destroy();
        } else refuse(socket, reason);
      },
    );
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(timer);
      if (!accepted) refuse(socket, 'it disconnected before identifying itself');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      server.on('error', () => undefined); // a failing accept must not take main down
      resolve();
    });
  });
  if (process.platform !== 'win32') await chmod(socketPath, 0o600);
  const file = join(dir, 'rendezvous.json');
  const content: RendezvousFile = { socketPath, token };
  await writeFile(file, JSON.stringify(content), { mode: 0o600, flag: 'wx' });

  return {
    file,
    helper,
    close: async () => {
      server.close();
      accepted?.end();
      rejectHelper(new EngineError('CANCELLED', 'The helper channel was closed.'));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
