/**
 * A test's own page on the browser host: a real WebSocket (the ws package) that proves the token the way
 * the page does (subprotocol), calls the Api and records every push event, so a test can answer the
 * "Erase …?" question, watch a flash, or drop the connection mid-way.
 */
import WebSocket from 'ws';
import type { ApiEvent, ApiEventPayloads, ApiInvokeMethod, ConfirmRequest, FlashEvent } from '../../src/shared/api';
import { HOST_WS_PATH, hostProtocols, type HostMessage } from '../../src/shared/host-protocol';
import type { Result } from '../../src/shared/result';
import type { RunningHost } from './browser';

export interface HostApiClient {
  ws: WebSocket;
  call<T = unknown>(method: ApiInvokeMethod | string, ...args: unknown[]): Promise<Result<T>>;
  listen(event: ApiEvent, on?: boolean): void;
  /** Resolves with the first pushed `event` payload (past or future) that `match` accepts. */
  next<E extends ApiEvent>(event: E, match?: (payload: ApiEventPayloads[E]) => boolean): Promise<ApiEventPayloads[E]>;
  /** Every payload of `event` received so far. */
  seen<E extends ApiEvent>(event: E): ApiEventPayloads[E][];
  /** Resolves with the job's last event (done or error). */
  jobEnd(jobId: string): Promise<Extract<FlashEvent, { type: 'done' | 'error' }>>;
  /** The next question, answered with `accepted`. */
  answerNext(accepted: boolean): Promise<ConfirmRequest>;
  /** Resolves with the close code once the socket is closed. */
  closed: Promise<number>;
  close(): Promise<void>;
}

/** Opens a WebSocket to the host's Api, or rejects with the HTTP status of its refusal. */
export function connectHostApi(host: RunningHost, options: { protocols?: string[]; origin?: string } = {}): Promise<HostApiClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${host.port}${HOST_WS_PATH}`, options.protocols ?? hostProtocols(host.token), {
    origin: options.origin ?? host.origin,
  });
  let nextId = 1;
  const results = new Map<number, (result: Result<unknown>) => void>();
  const events = new Map<ApiEvent, unknown[]>();
  const waiters: { event: ApiEvent; match(payload: unknown): boolean; resolve(payload: unknown): void }[] = [];
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as HostMessage;
    if (message.kind === 'result') {
      results.get(message.id)?.(message.result);
      results.delete(message.id);
      return;
    }
    const list = events.get(message.event) ?? [];
    list.push(message.payload);
    events.set(message.event, list);
    for (const waiter of [...waiters]) {
      if (waiter.event === message.event && waiter.match(message.payload)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message.payload);
      }
    }
  });

  const client: HostApiClient = {
    ws,
    call<T>(method: string, ...args: unknown[]) {
      const id = nextId++;
      return new Promise<Result<T>>((resolve, reject) => {
        results.set(id, resolve as (result: Result<unknown>) => void);
        ws.send(JSON.stringify({ kind: 'invoke', id, method, args }), (err) => err && reject(err));
      });
    },
    listen(event, on = true) {
      ws.send(JSON.stringify({ kind: 'listen', event, on }));
    },
    next<E extends ApiEvent>(event: E, match: (payload: ApiEventPayloads[E]) => boolean = () => true) {
      const past = (events.get(event) ?? []).find((payload) => match(payload as ApiEventPayloads[E]));
      if (past !== undefined) return Promise.resolve(past as ApiEventPayloads[E]);
      return new Promise<ApiEventPayloads[E]>((resolve) =>
        waiters.push({ event, match: (p) => match(p as ApiEventPayloads[E]), resolve: (p) => resolve(p as ApiEventPayloads[E]) }),
      );
    },
    seen: <E extends ApiEvent>(event: E) => (events.get(event) ?? []) as ApiEventPayloads[E][],
    jobEnd: (jobId) =>
      client.next('flash', (e) => e.jobId === jobId && (e.type === 'done' || e.type === 'error')) as Promise<Extract<FlashEvent, { type: 'done' | 'error' }>>,
    async answerNext(accepted) {
      const question = await client.next('confirm', (q) => !answered.has(q.id));
      answered.add(question.id);
      const result = await client.call('answerConfirm', question.id, accepted);
      if (!result.ok) throw new Error(`answerConfirm was refused: ${result.error.message}`);
      return question;
    },
    closed,
    async close() {
      if (ws.readyState === ws.CLOSED) return;
      ws.close();
      await closed;
    },
  };
  const answered = new Set<string>();

  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused with HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}
