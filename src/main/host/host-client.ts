/**
 * One page connected to the browser host, and the call context that tells the host's services which
 * page a call came from: the flash service's confirmation goes to the page that asked to flash, and only
 * that page may answer it or receive that job's events.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ApiEvent } from '../../shared/api';
import type { HostEventMessage } from '../../shared/host-protocol';

export interface HostClient {
  /** For the log: 1, 2, ... in connection order. */
  readonly id: number;
  /** True once the socket closed; nothing is sent any more. */
  readonly closed: boolean;
  /** True while the page listens for `event`. */
  listens(event: ApiEvent): boolean;
  /** Sends a push event if the page listens for it and the socket is open; false when not sent. */
  push(message: HostEventMessage): boolean;
}

/** Carries the calling client through every await of one Api call (node:async_hooks). */
export interface CallContext {
  run<T>(client: HostClient, call: () => T): T;
  /** The client whose call is running, undefined outside a call. */
  current(): HostClient | undefined;
}

export function createCallContext(): CallContext {
  const storage = new AsyncLocalStorage<HostClient>();
  return {
    run: (client, call) => storage.run(client, call),
    current: () => storage.getStore(),
  };
}
