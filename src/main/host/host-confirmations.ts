/**
 * The browser host's questions to its pages: "Erase this drive?" before a flash. A question goes to the
 * page that made the call and waits for that page's answer; no answer within the timeout, a page that
 * does not listen, or a page that goes away is a refusal. Each question is answered once: a second answer,
 * an unknown id, or an answer from another page is refused.
 */
import { randomUUID } from 'node:crypto';
import type { ConfirmRequest } from '../../shared/api';
import { EngineError } from '../engine/errors';
import { NOT_WAITING_MESSAGE } from '../services/api-core';
import type { HostClient } from './host-client';

/** How long a question waits for its answer before it counts as "no". */
export const CONFIRM_TIMEOUT_MS = 120_000;

export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface Confirmations {
  /** Asks `client` and resolves with its answer (false for every kind of no answer). */
  ask(client: HostClient | undefined, question: Omit<ConfirmRequest, 'id'>): Promise<boolean>;
  /** Takes `client`'s answer to question `id`; throws a USAGE error when that client has no such question waiting. */
  answer(client: HostClient | undefined, id: string, accepted: boolean): void;
  /** Refuses every question still waiting for `client` (its socket closed). */
  dropClient(client: HostClient): void;
  /** Questions waiting now. */
  waiting(): number;
}

export interface ConfirmationsOptions {
  timeoutMs?: number;
  timers?: Timers;
  log?(line: string): void;
}

export function createConfirmations(options: ConfirmationsOptions = {}): Confirmations {
  const timers = options.timers ?? realTimers;
  const timeoutMs = options.timeoutMs ?? CONFIRM_TIMEOUT_MS;
  const log = options.log ?? (() => undefined);
  const waiting = new Map<string, { client: HostClient; title: string; settle(accepted: boolean): void }>();

  return {
    ask(client, question) {
      if (client === undefined || client.closed) return Promise.resolve(false);
      const id = randomUUID();
      return new Promise<boolean>((resolve) => {
        const timer = timers.set(() => {
          log(`page ${client.id} did not answer "${question.title}" within ${Math.round(timeoutMs / 1000)} s: taken as no`);
          settle(false);
        }, timeoutMs);
        const settle = (accepted: boolean): void => {
          if (!waiting.delete(id)) return;
          timers.clear(timer);
          resolve(accepted);
        };
        waiting.set(id, { client, title: question.title, settle });
        if (!client.push({ kind: 'event', event: 'confirm', payload: { id, ...question } })) {
          log(`page ${client.id} does not listen for questions: "${question.title}" taken as no`);
          settle(false);
        }
      });
    },
    answer(client, id, accepted) {
      const entry = waiting.get(id);
      if (entry === undefined || entry.client !== client) throw new EngineError('USAGE', NOT_WAITING_MESSAGE);
      entry.settle(accepted);
    },
    dropClient(client) {
      for (const entry of [...waiting.values()]) {
        if (entry.client !== client) continue;
        log(`page ${client.id} went away without answering "${entry.title}": taken as no`);
        entry.settle(false);
      }
    },
    waiting: () => waiting.size,
  };
}
