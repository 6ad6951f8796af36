/**
 * Newline-delimited JSON over a socket: the framing between main and the privileged helper. Lines are
 * bounded so a misbehaving peer cannot grow memory without limit.
 */
import type { Socket } from 'node:net';

/** Longest accepted line (a job, a report of many ranges). */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

export function sendLine(socket: Socket, message: unknown): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
}

/**
 * Calls `onMessage` with each parsed line. A line that is not JSON or is too long calls `onInvalid` once
 * and stops reading (the caller closes the socket).
 */
export function readLines(socket: Socket, onMessage: (message: unknown) => void, onInvalid: (reason: string) => void): void {
  let pending = '';
  let broken = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    if (broken) return;
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.length > 0) {
        let message: unknown;
        try {
          message = JSON.parse(line);
        } catch {
          broken = true;
          onInvalid('a message was not valid JSON');
          return;
        }
        onMessage(message);
        if (broken || socket.destroyed) return;
      }
      newline = pending.indexOf('\n');
    }
    if (pending.length > MAX_LINE_BYTES) {
      broken = true;
      onInvalid('a message was too long');
    }
  });
}
