/**
 * The browser host's server: the built renderer over HTTP and the Api over one WebSocket per page, both
 * on 127.0.0.1 only and behind the Host/Origin checks of host-security; the WebSocket and the test
 * endpoint also need the token. Every socket, request and response has an error handler, so no input —
 * a malformed HTTP request, a huge header, a bad WebSocket frame — can end the process.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { HOST_MAX_MESSAGE_BYTES, HOST_WS_PATH, HOST_WS_PROTOCOL } from '../../shared/host-protocol';
import type { HostDialogs } from './host-dialogs';
import { bearerToken, checkAuthorized, checkSource, handshakeToken, type Refusal } from './host-security';
import { SECURITY_HEADERS, sendStatic } from './static-files';

const MAX_PICK_BODY = 8192;

export interface HostServerConfig {
  dialogs: HostDialogs;
  /** Serves each accepted WebSocket (see host-connection). */
  onConnection(ws: WebSocket): void;
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

function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Too large: stop keeping it (the rest is drained and dropped), so the refusal can still be answered.
      if (size > limit) resolve(null);
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

const STATUS_TEXT: Record<number, string> = { 403: 'Forbidden', 404: 'Not Found', 421: 'Misdirected Request' };

export async function startHostServer(config: HostServerConfig): Promise<HostServer> {
  const log = config.log ?? (() => undefined);
  let port = config.port;

  const refuse = (res: ServerResponse, status: number, reason: string): void => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end(`${reason}\n`);
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (config.test && url.pathname === '/__test/pick') {
      const refusal = checkAuthorized(req, port, config.token, bearerToken);
      if (refusal) return refuse(res, refusal.status, refusal.reason);
      if (req.method !== 'POST') return refuse(res, 405, 'Method not allowed');
      const body = await readBody(req, MAX_PICK_BODY);
      if (body === null) {
        res.setHeader('Connection', 'close');
        res.on('finish', () => req.destroy());
        return refuse(res, 413, 'Body too large');
      }
      config.dialogs.queuePick(body.trim() === '' ? null : body.trim());
      res.writeHead(204, SECURITY_HEADERS).end();
      return;
    }
    // The page and its assets are public code: our Host is enough. The token is for what can act.
    const refusal = checkSource(req, port);
    if (refusal) {
      log(`refused ${req.method} ${url.pathname}: ${refusal.reason}`);
      return refuse(res, refusal.status, refusal.reason);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'Method not allowed');
    await sendStatic(res, config.staticDir, url.pathname);
  };

  const server: Server = createServer((req, res) => {
    req.on('error', (err) => log(`request error: ${err.message}`));
    res.on('error', (err) => log(`response error: ${err.message}`));
    onRequest(req, res).catch((err: unknown) => {
      log(`request failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) refuse(res, 500, 'Internal error');
      else res.destroy();
    });
  });
  server.on('error', (err) => log(`server error: ${err.message}`));

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: HOST_MAX_MESSAGE_BYTES,
    // The token rides as a second subprotocol; only ours is ever selected, so the token is never echoed.
    handleProtocols: (protocols) => (protocols.has(HOST_WS_PROTOCOL) ? HOST_WS_PROTOCOL : false),
  });
  wss.on('error', (err) => log(`WebSocket server error: ${err.message}`));
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    // Node drops its own error handler from an upgraded socket: without ours, a reset here would end the process.
    socket.on('error', (err) => log(`socket error: ${err.message}`));
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const refusal: Refusal =
      url.pathname === HOST_WS_PATH ? checkAuthorized(req, port, config.token, handshakeToken) : { status: 404, reason: 'Unknown endpoint' };
    if (refusal) {
      log(`refused WebSocket: ${refusal.reason}`);
      socket.end(`HTTP/1.1 ${refusal.status} ${STATUS_TEXT[refusal.status] ?? 'Refused'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => config.onConnection(ws));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
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
