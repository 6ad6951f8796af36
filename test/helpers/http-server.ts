/**
 * A loopback HTTP and HTTPS server for the URL-source tests: serves files (from memory or disk) with ETag,
 * Last-Modified and single-range requests (If-Range honoured), and injects the faults real servers show:
 * a connection dropped after N body bytes, a stall, no Range support, an error status, a wrong
 * Content-Length, redirects, basic auth, content that changes between requests. Every request is logged.
 * Also: a self-signed certificate made with `openssl` and a CONNECT proxy that counts its tunnels.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What is served at a path: bytes in memory or a file on disk. */
export type Content = Buffer | { file: string };

export interface Served {
  content: Content;
  /** Strong ETag (quoted); null sends none. Default: from the content's hash. */
  etag?: string | null;
  /** Null sends none. Default: a fixed date. */
  lastModified?: Date | null;
}

/** A fault applied to the next `times` responses for a path (default once; Infinity: always); active faults combine. */
export interface Fault {
  times?: number;
  /** Destroy the connection after this many body bytes. */
  dropAfter?: number;
  /** Stop sending (keep the connection open) after this many body bytes. */
  stallAfter?: number;
  /** Ignore Range (answer 200 with everything) and advertise no Accept-Ranges. */
  noRanges?: boolean;
  /** Answer with this status and a short body instead. */
  status?: number;
  /** Add this to the Content-Length sent (the body stays what it is; the connection is closed after it). */
  lengthDelta?: number;
}

export interface LoggedRequest {
  method: string;
  /** Path with its query string. */
  url: string;
  range: string | null;
  ifRange: string | null;
  authorization: string | null;
  status: number;
  /** Body bytes sent. */
  sent: number;
}

interface Entry {
  content: Content;
  etag: string | null;
  lastModified: Date | null;
  size: number;
}

export interface TestCert {
  key: Buffer;
  cert: Buffer;
  /** The certificate as a file (for NODE_EXTRA_CA_CERTS). */
  certPath: string;
  dispose(): void;
}

/** A self-signed certificate for 127.0.0.1 and localhost, made by `openssl` in a temporary folder. */
export function makeSelfSignedCert(): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'sureflash-cert-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath,
    '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  return { key: readFileSync(keyPath), cert: readFileSync(certPath), certPath, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

function sizeOf(content: Content): number {
  return Buffer.isBuffer(content) ? content.length : statSync(content.file).size;
}

function defaultEtag(content: Content): string {
  const hash = createHash('sha1');
  if (Buffer.isBuffer(content)) hash.update(content);
  else hash.update(`${content.file}:${statSync(content.file).mtimeMs}:${statSync(content.file).size}`);
  return `"${hash.digest('hex').slice(0, 16)}"`;
}

function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // several ranges or nonsense: serve everything
  if (m[1] === '') {
    const n = Number(m[2]);
    return n === 0 ? 'unsatisfiable' : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start >= size || end < start ? 'unsatisfiable' : { start, end };
}

export class TestHttpServer {
  readonly requests: LoggedRequest[] = [];
  private readonly files = new Map<string, Entry>();
  private readonly faults = new Map<string, Fault[]>();
  private readonly redirects = new Map<string, { to: string; status: number }>();
  private auth: { user: string; password: string; paths: RegExp } | null = null;
  /** Called before each request is answered (after it is logged): tests change content here. */
  onRequest: ((path: string, count: number) => void) | null = null;
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  private base = '';

  /** Starts on 127.0.0.1 (a free port); with `tls`, serves https. */
  async start(tls?: { key: Buffer; cert: Buffer }): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.handle(req, res);
    const server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, handler) : createHttpServer(handler);
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('secureConnection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.base = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  /** The server's URL for a path ("/os.img.xz"), optionally with user and password in it. */
  url(path: string, credentials?: { user: string; password: string }): string {
    if (!credentials) return `${this.base}${path}`;
    const at = `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@`;
    return this.base.replace('://', `://${at}`) + path;
  }

  /** Serves `content` at `path` (replacing what was there: a new ETag unless one is given). */
  put(path: string, served: Content | Served): void {
    const s: Served = Buffer.isBuffer(served) || 'file' in served ? { content: served } : served;
    this.files.set(path, {
      content: s.content,
      size: sizeOf(s.content),
      etag: s.etag === undefined ? defaultEtag(s.content) : s.etag,
      lastModified: s.lastModified === undefined ? new Date('2024-05-01T12:00:00Z') : s.lastModified,
    });
  }

  remove(path: string): void {
    this.files.delete(path);
  }

  fault(path: string, fault: Fault): void {
    const list = this.faults.get(path) ?? [];
    list.push({ times: 1, ...fault });
    this.faults.set(path, list);
  }

  redirect(from: string, to: string, status = 302): void {
    this.redirects.set(from, { to, status });
  }

  /** Requires basic auth with these credentials for paths matching `paths` (default: all). */
  requireAuth(user: string, password: string, paths = /.*/): void {
    this.auth = { user, password, paths };
  }

  /** Body bytes sent for a path (all requests, query ignored). */
  bytesSent(path: string): number {
    return this.requests.filter((r) => r.url.split('?')[0] === path).reduce((n, r) => n + r.sent, 0);
  }

  requestsFor(path: string): LoggedRequest[] {
    return this.requests.filter((r) => r.url.split('?')[0] === path);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Every rule still active for the path applies to this response (merged); each counts down. */
  private takeFault(path: string): Fault | null {
    const list = this.faults.get(path);
    if (!list || list.length === 0) return null;
    const merged: Fault = {};
    for (const rule of list) {
      Object.assign(merged, rule);
      rule.times = (rule.times ?? 1) - 1;
    }
    this.faults.set(path, list.filter((rule) => (rule.times ?? 0) > 0));
    return merged;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    const log: LoggedRequest = {
      method: req.method ?? 'GET',
      url,
      range: req.headers.range ?? null,
      ifRange: typeof req.headers['if-range'] === 'string' ? req.headers['if-range'] : null,
      authorization: req.headers.authorization ?? null,
      status: 0,
      sent: 0,
    };
    this.requests.push(log);
    this.onRequest?.(path, this.requestsFor(path).length);
    const finish = (status: number, text: string, headers: Record<string, string> = {}): void => {
      log.status = status;
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(text)), ...headers });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    if (this.auth && this.auth.paths.test(path)) {
      const expected = `Basic ${Buffer.from(`${this.auth.user}:${this.auth.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        finish(401, 'authentication required\n', { 'www-authenticate': 'Basic realm="test"' });
        return;
      }
    }
    const redirect = this.redirects.get(path);
    if (redirect) {
      finish(redirect.status, 'moved\n', { location: redirect.to });
      return;
    }
    const fault = this.takeFault(path);
    if (fault?.status !== undefined) {
      finish(fault.status, `fault ${fault.status}\n`);
      return;
    }
    const entry = this.files.get(path);
    if (!entry) {
      finish(404, 'not found\n');
      return;
    }
    this.serve(req, res, entry, fault, log);
  }

  private serve(req: IncomingMessage, res: ServerResponse, entry: Entry, fault: Fault | null, log: LoggedRequest): void {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (entry.etag) headers.etag = entry.etag;
    if (entry.lastModified) headers['last-modified'] = entry.lastModified.toUTCString();
    if (!fault?.noRanges) headers['accept-ranges'] = 'bytes';
    let start = 0;
    let end = entry.size - 1;
    let status = 200;
    const rangeHeader = fault?.noRanges ? undefined : req.headers.range;
    const ifRange = req.headers['if-range'];
    const validatorHolds =
      typeof ifRange !== 'string' ||
      (ifRange.startsWith('"') || ifRange.startsWith('W/') ? ifRange === entry.etag : entry.lastModified !== null && new Date(ifRange).getTime() === entry.lastModified.getTime());
    if (rangeHeader && validatorHolds) {
      const range = parseRange(rangeHeader, entry.size);
      if (range === 'unsatisfiable') {
        log.status = 416;
        res.writeHead(416, { 'content-range': `bytes */${entry.size}`, 'content-length': '0' });
        res.end();
        return;
      }
      if (range) {
        ({ start, end } = range);
        status = 206;
        headers['content-range'] = `bytes ${start}-${end}/${entry.size}`;
      }
    }
    const length = Math.max(0, end - start + 1);
    headers['content-length'] = String(length + (fault?.lengthDelta ?? 0));
    log.status = status;
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    const limit = fault?.lengthDelta !== undefined && fault.lengthDelta < 0 ? length + fault.lengthDelta : length;
    this.pump(res, entry.content, start, limit, fault, log);
  }

  private pump(res: ServerResponse, content: Content, start: number, length: number, fault: Fault | null, log: LoggedRequest): void {
    const stopAt = Math.min(length, fault?.dropAfter ?? Infinity, fault?.stallAfter ?? Infinity);
    const source = Buffer.isBuffer(content)
      ? [content.subarray(start, start + stopAt)]
      : stopAt > 0
        ? createReadStream(content.file, { start, end: start + stopAt - 1, highWaterMark: 256 * 1024 })
        : [];
    const done = (): void => {
      if (fault?.stallAfter !== undefined && fault.stallAfter < length) return; // keep the socket open, silent
      if (stopAt < length || fault?.lengthDelta !== undefined) {
        // Cut the connection once what was written has left.
        res.socket?.end(() => res.socket?.destroy());
        setTimeout(() => res.socket?.destroy(), 50);
        return;
      }
      res.end();
    };
    void (async () => {
      try {
        for await (const chunk of source as AsyncIterable<Buffer>) {
          log.sent += chunk.length;
          if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve));
          if (res.destroyed) return;
        }
        done();
      } catch {
        res.destroy();
      }
    })();
  }
}

/** A forward proxy that only tunnels (CONNECT), as undici's ProxyAgent uses it; counts the tunnels. */
export class TestProxy {
  readonly connects: string[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  url = '';

  async start(): Promise<this> {
    const server = createHttpServer((_req, res) => {
      res.writeHead(405);
      res.end();
    });
    server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
      this.connects.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host ?? '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
