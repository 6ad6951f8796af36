/**
 * The browser host's server: the built renderer over HTTP and the Api over one WebSocket per page, both
 * on 127.0.0.1 only and both behind the token and Host/Origin checks of host-security.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { API_INVOKE_METHODS, type ApiInvokeMethod } from '../../shared/api';
import { HOST_WS_PATH, type HostMessage, type HostRequest } from '../../shared/host-protocol';
import type { ApiCore } from '../services/api-core';
import type { MainServices } from '../services/types';
import type { HostDialogs } from './host-dialogs';
import { checkRequest, tokenCookieName } from './host-security';
import { SECURITY_HEADERS, sendStatic } from './static-files';

/** Largest message a page may send (paths and small objects only). */
const MAX_MESSAGE_BYTES = 64 * 1024;
const MAX_PICK_BODY = 8192;

export interface HostServerConfig {
  core: ApiCore;
  services: Pick<MainServices, 'drives' | 'flash'>;
  dialogs: HostDialogs;
  /** Folder of the built renderer (index.html and assets). */
  staticDir: string;
  token: string;
  port: number;
  /** Enables POST /__test/pick. */
  test: boolean;
  log?(line: string): void;
}

export interface HostServer {
  /** http://127.0.0.1:PORT/?token=... */
  url: string;
  port: number;
  close(): Promise<void>;
}

function parseRequest(text: string): HostRequest | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const message = value as Record<string, unknown>;
  if (message.kind === 'watch-drives' && typeof message.on === 'boolean') return { kind: 'watch-drives', on: message.on };
  if (
    message.kind === 'invoke' &&
    Number.isSafeInteger(message.id) &&
    typeof message.method === 'string' &&
    (API_INVOKE_METHODS as readonly string[]).includes(message.method) &&
    Array.isArray(message.args)
  ) {
    return { kind: 'invoke', id: message.id as number, method: message.method as ApiInvokeMethod, args: message.args as unknown[] };
  }
  return null;
}

function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(null);
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

function serveConnection(ws: WebSocket, config: HostServerConfig): void {
  const send = (message: HostMessage): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const offFlash = config.services.flash.subscribe((event) => send({ kind: 'flash-event', event }));
  let offDrives: (() => void) | null = null;

  ws.on('message', (data, isBinary) => {
    const request = isBinary ? null : parseRequest(data.toString());
    if (request === null) {
      ws.close(1008, 'malformed message');
      return;
    }
    if (request.kind === 'watch-drives') {
      if (request.on && offDrives === null) offDrives = config.services.drives.subscribe((drives) => send({ kind: 'drives', drives }));
      if (!request.on && offDrives !== null) {
        offDrives();
        offDrives = null;
      }
      return;
    }
    void config.core[request.method](...request.args).then((result) => send({ kind: 'result', id: request.id, result }));
  });
  ws.on('close', () => {
    offFlash();
    offDrives?.();
  });
}

export async function startHostServer(config: HostServerConfig): Promise<HostServer> {
  const log = config.log ?? (() => undefined);
  let port = config.port;

  const refuse = (res: ServerResponse, status: number, reason: string): void => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end(`${reason}\n`);
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const refusal = checkRequest(req, url, port, config.token);
    if (refusal) {
      log(`refused ${req.method} ${url.pathname}: ${refusal.reason}`);
      refuse(res, refusal.status, refusal.reason);
      return;
    }
    if (config.test && url.pathname === '/__test/pick' && req.method === 'POST') {
      const body = await readBody(req, MAX_PICK_BODY);
      if (body === null) return refuse(res, 413, 'Body too large');
      config.dialogs.queuePick(body.trim() === '' ? null : body.trim());
      res.writeHead(204, SECURITY_HEADERS).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'Method not allowed');
    // The page's own asset requests carry no query: hand it the token as a strict, HTTP-only cookie.
    const cookie: Record<string, string> = url.searchParams.has('token')
      ? { 'Set-Cookie': `${tokenCookieName(port)}=${config.token}; HttpOnly; SameSite=Strict; Path=/` }
      : {};
    await sendStatic(res, config.staticDir, url.pathname, cookie);
  };

  const server: Server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      log(`request failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) refuse(res, 500, 'Internal error');
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const refusal = url.pathname === HOST_WS_PATH ? checkRequest(req, url, port, config.token) : { status: 403 as const, reason: 'Unknown endpoint' };
    if (refusal) {
      log(`refused WebSocket: ${refusal.reason}`);
      socket.end(`HTTP/1.1 ${refusal.status} Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveConnection(ws, config));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    port,
    url: `http://127.0.0.1:${port}/?token=${config.token}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
