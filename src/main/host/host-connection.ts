/**
 * One page's WebSocket on the browser host: parses every message (zod) before acting, runs Api calls
 * through the api core inside the call context (so a confirmation and a job find their page), pushes the
 * events the page listens for, and on close refuses its pending questions and cancels its running jobs.
 * Nothing a page sends can throw out of here: a malformed message closes that page's socket, a call to an
 * unknown method is answered with an error, and socket errors are logged (ws then closes the socket).
 */
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import { API_EVENTS, API_INVOKE_METHODS, type ApiEvent, type ApiInvokeMethod, type Unsubscribe } from '../../shared/api';
import type { HostMessage, HostRequest } from '../../shared/host-protocol';
import { fail } from '../../shared/result';
import type { ApiCore } from '../services/api-core';
import type { DriveService } from '../services/types';
import type { CallContext, HostClient } from './host-client';
import type { Confirmations } from './host-confirmations';
import type { HostJobs } from './host-jobs';
import type { HostStation } from './host-station';

/** A page that does not read its messages is dropped before its backlog grows past this. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const MAX_ARGS = 16;

const EVENT_NAMES = Object.keys(API_EVENTS) as [ApiEvent, ...ApiEvent[]];

const requestSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('invoke'),
    id: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
    method: z.string().max(64),
    args: z.array(z.unknown()).max(MAX_ARGS),
  }),
  z.strictObject({ kind: z.literal('listen'), event: z.enum(EVENT_NAMES), on: z.boolean() }),
]);

type ParsedRequest = z.output<typeof requestSchema>;

/** The request a text message holds, or why it is not one. */
export function parseHostRequest(text: string): ParsedRequest | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const parsed = requestSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return `not a request (${issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue?.message ?? 'unknown shape'})`;
}

const isInvokeMethod = (method: string): method is ApiInvokeMethod => (API_INVOKE_METHODS as readonly string[]).includes(method);

export interface ConnectionDeps {
  core: ApiCore;
  drives: Pick<DriveService, 'subscribe'>;
  jobs: Pick<HostJobs, 'adopt' | 'release'>;
  station: Pick<HostStation, 'adopt' | 'release'>;
  confirmations: Pick<Confirmations, 'dropClient'>;
  context: CallContext;
  log(line: string): void;
}

/** Returns the handler for each accepted WebSocket. */
export function createConnectionHandler(deps: ConnectionDeps): (ws: WebSocket) => void {
  let nextClientId = 1;
  return (ws) => {
    const id = nextClientId++;
    const listening = new Set<ApiEvent>();
    let closed = false;
    let offDrives: Unsubscribe | null = null;
    const log = (line: string): void => deps.log(`page ${id}: ${line}`);

    const send = (message: HostMessage): boolean => {
      if (closed || ws.readyState !== ws.OPEN) return false;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        log('does not read its messages: dropping its connection');
        ws.terminate();
        return false;
      }
      try {
        ws.send(JSON.stringify(message));
        return true;
      } catch (err) {
        log(`could not send: ${err instanceof Error ? err.message : String(err)}`);
        return false;
      }
    };

    const client: HostClient = {
      id,
      get closed() {
        return closed;
      },
      listens: (event) => listening.has(event),
      push: (message) => listening.has(message.event) && send(message),
    };

    /** Closes with a fixed reason: the detail (which may quote the page's own bytes) goes to the log only. */
    const refuse = (code: 1003 | 1008, detail: string): void => {
      log(`${detail}: closing its connection`);
      ws.close(code, code === 1003 ? 'binary messages are not accepted' : 'malformed message');
    };

    const listen = (event: ApiEvent, on: boolean): void => {
      if (on) listening.add(event);
      else listening.delete(event);
      if (event !== 'drives') return;
      if (on && offDrives === null) offDrives = deps.drives.subscribe((drives) => client.push({ kind: 'event', event: 'drives', payload: drives }));
      if (!on && offDrives !== null) {
        offDrives();
        offDrives = null;
      }
    };

    const invoke = (request: Extract<HostRequest, { kind: 'invoke' }>): void => {
      const answer = (result: HostMessage & { kind: 'result' }): void => void send(result);
      if (request.method === 'flash') {
        void deps.context.run(client, () => deps.core.flash(...request.args)).then((result) => {
          answer({ kind: 'result', id: request.id, result });
          if (result.ok) deps.jobs.adopt(client, result.value.jobId);
        });
        return;
      }
      if (request.method === 'armStation') {
        void deps.context.run(client, () => deps.core.armStation(...request.args)).then((result) => {
          if (result.ok) deps.station.adopt(client);
          answer({ kind: 'result', id: request.id, result });
        });
        return;
      }
      void deps.context
        .run(client, () => deps.core[request.method](...request.args))
        .then((result) => answer({ kind: 'result', id: request.id, result }));
    };

    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return refuse(1003, 'sent a binary message');
      const request = parseHostRequest(data.toString());
      if (typeof request === 'string') return refuse(1008, `sent a message that is ${request}`);
      if (request.kind === 'listen') return listen(request.event, request.on);
      if (!isInvokeMethod(request.method)) {
        send({ kind: 'result', id: request.id, result: fail('USAGE', `Unknown method "${request.method}".`) });
        return;
      }
      invoke({ ...request, method: request.method });
    });
    // ws emits 'error' for every protocol violation (bad frame, oversized, invalid UTF-8) and closes the socket.
    ws.on('error', (err) => log(`connection error: ${err.message}`));
    ws.on('close', () => {
      closed = true;
      listening.clear();
      offDrives?.();
      offDrives = null;
      deps.confirmations.dropClient(client);
      deps.jobs.release(client);
      deps.station.release(client);
    });
  };
}
