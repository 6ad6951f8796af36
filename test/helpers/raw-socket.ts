/**
 * Raw TCP to the browser host: bytes exactly as a test writes them, with no HTTP or WebSocket library in
 * between, so a test can send what no well-behaved client would (bad frames, huge headers, resets).
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { HOST_WS_PATH, hostProtocols } from '../../src/shared/host-protocol';

export interface RawConnection {
  socket: Socket;
  /** Everything received so far. */
  received(): Buffer;
  /** Resolves once the peer ended or the socket closed. */
  ended: Promise<void>;
  /** Resolves when `predicate(received())` holds, or when the socket ended (then with what was received). */
  until(predicate: (bytes: Buffer) => boolean): Promise<Buffer>;
}

export function rawConnect(port: number): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1');
  let bytes = Buffer.alloc(0);
  const checks: { predicate(bytes: Buffer): boolean; resolve(bytes: Buffer): void }[] = [];
  const run = (): void => {
    for (const check of [...checks]) {
      if (check.predicate(bytes)) {
        checks.splice(checks.indexOf(check), 1);
        check.resolve(bytes);
      }
    }
  };
  socket.on('data', (chunk: Buffer) => {
    bytes = Buffer.concat([bytes, chunk]);
    run();
  });
  // A reset by the host is an answer too; the test looks at what arrived before it.
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void ended.then(() => {
    for (const check of checks.splice(0)) check.resolve(bytes);
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => bytes,
        ended,
        until: (predicate) => (predicate(bytes) ? Promise.resolve(bytes) : new Promise((r) => checks.push({ predicate, resolve: r }))),
      }),
    );
    socket.once('error', reject);
  });
}

/** The HTTP status of the first response in `bytes`, or null. */
export function statusOf(bytes: Buffer): number | null {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(bytes.toString('latin1'));
  return match ? Number(match[1]) : null;
}

const headEnd = (bytes: Buffer): number => bytes.indexOf('\r\n\r\n');

/** Sends `request` and resolves with the response status once the head arrived (or the socket ended). */
export async function rawRequest(port: number, request: string | Buffer): Promise<{ status: number | null; connection: RawConnection }> {
  const connection = await rawConnect(port);
  connection.socket.write(request);
  const bytes = await connection.until((b) => headEnd(b) >= 0);
  return { status: statusOf(bytes), connection };
}

/** An upgrade request for the Api endpoint; `protocols` null leaves the header out. */
export function upgradeRequest(port: number, token: string, extra: Record<string, string | null> = {}): string {
  const headers: Record<string, string | null> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Protocol': hostProtocols(token).join(', '),
    ...extra,
  };
  const lines = Object.entries(headers)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([name, value]) => `${name}: ${value}`);
  return `GET ${HOST_WS_PATH} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/** A raw WebSocket on the Api, handshake done (101); the frames that follow are the test's. */
export async function rawWebSocket(port: number, token: string): Promise<RawConnection> {
  const { status, connection } = await rawRequest(port, upgradeRequest(port, token));
  if (status !== 101) throw new Error(`handshake answered ${status}: ${connection.received().toString('latin1')}`);
  return connection;
}

export interface FrameOptions {
  opcode: number;
  payload?: Buffer | string;
  fin?: boolean;
  /** RSV1..3 as bits 0b100, 0b010, 0b001. */
  rsv?: number;
  /** Clients must mask; false sends the payload in the clear. */
  mask?: boolean;
  /** Announce this payload length instead of the real one (the bytes sent stay the real payload). */
  announcedLength?: number;
}

/** One WebSocket frame as a client would send it (RFC 6455 §5.2). */
export function frame(options: FrameOptions): Buffer {
  const payload = typeof options.payload === 'string' ? Buffer.from(options.payload) : (options.payload ?? Buffer.alloc(0));
  const length = options.announcedLength ?? payload.length;
  const mask = options.mask ?? true;
  const head: number[] = [((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | (options.opcode & 0x0f)];
  const maskBit = mask ? 0x80 : 0;
  let extended = Buffer.alloc(0);
  if (length < 126) head.push(maskBit | length);
  else if (length < 65_536) {
    head.push(maskBit | 126);
    extended = Buffer.alloc(2);
    extended.writeUInt16BE(length);
  } else {
    head.push(maskBit | 127);
    extended = Buffer.alloc(8);
    extended.writeBigUInt64BE(BigInt(length));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), extended, payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (key[i % 4] ?? 0)));
  return Buffer.concat([Buffer.from(head), extended, key, masked]);
}

/** The code of the first close frame the host sent after its handshake response, or null. */
export function closeCodeOf(bytes: Buffer): number | null {
  let at = headEnd(bytes);
  if (at < 0) return null;
  at += 4;
  while (at + 2 <= bytes.length) {
    const opcode = (bytes[at] ?? 0) & 0x0f;
    let length = (bytes[at + 1] ?? 0) & 0x7f;
    let start = at + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(start));
      start += 8;
    }
    if (opcode === 0x8) return length >= 2 && start + 2 <= bytes.length ? bytes.readUInt16BE(start) : 1005;
    at = start + length;
  }
  return null;
}

/** Sends `bytes` on a fresh raw WebSocket and resolves with the close code the host answered with. */
export async function closeCodeFor(port: number, token: string, bytes: Buffer): Promise<number | null> {
  const connection = await rawWebSocket(port, token);
  connection.socket.write(bytes);
  const received = await connection.until((b) => closeCodeOf(b) !== null);
  connection.socket.destroy();
  return closeCodeOf(received);
}
