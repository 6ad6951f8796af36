/**
 * What main and the privileged helper say to each other over the rendezvous socket. After the helper
 * proves it holds the token, main sends exactly one job; the helper relays the engine's FromWorker
 * messages unchanged.
 */
import type { FlashJob } from '../engine/protocol';

/** Helper → main, first line: the token from the rendezvous file. */
export interface HelperAuth {
  type: 'auth';
  token: string;
}

/** Main → helper. */
export type ToHelper = { type: 'job'; job: FlashJob } | { type: 'cancel' };

/** The rendezvous file main writes (0600) and the helper reads and deletes. */
export interface RendezvousFile {
  socketPath: string;
  token: string;
}

export function isHelperAuth(value: unknown): value is HelperAuth {
  return typeof value === 'object' && value !== null && (value as HelperAuth).type === 'auth' && typeof (value as HelperAuth).token === 'string';
}

export function isRendezvousFile(value: unknown): value is RendezvousFile {
  const v = value as RendezvousFile;
  return typeof value === 'object' && value !== null && typeof v.socketPath === 'string' && typeof v.token === 'string';
}
