import { describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../src/shared/api';
import type { HostEventMessage } from '../../src/shared/host-protocol';
import type { HostClient } from '../../src/main/host/host-client';
import { createConfirmations, type Timers } from '../../src/main/host/host-confirmations';

const question = { title: 'Erase drive?', message: 'Erase /dev/loop7?', detail: 'Everything on this drive will be lost.', confirmLabel: 'Erase and flash', danger: true };

/** A page that records what it was sent; it listens for `events`. */
function page(id: number, events: ApiEvent[] = ['confirm']) {
  const sent: HostEventMessage[] = [];
  const client = {
    id,
    closed: false,
    listens: (event: ApiEvent) => events.includes(event),
    push: (message: HostEventMessage) => (client.closed || !events.includes(message.event) ? false : (sent.push(message), true)),
  };
  return { client: client as HostClient & { closed: boolean }, sent, lastId: () => (sent.at(-1)?.payload as { id: string }).id };
}

/** Timers the test fires by hand: no waiting, no clock. */
function manualTimers() {
  const pending = new Map<number, { callback: () => void; ms: number }>();
  let next = 1;
  const timers: Timers = {
    set: (callback, ms) => (pending.set(next, { callback, ms }), next++),
    clear: (handle) => void pending.delete(handle as number),
  };
  return { timers, pending, fireAll: () => [...pending.values()].forEach((t) => t.callback()) };
}

describe('host confirmations', () => {
  it('asks the calling page with an id and resolves with its answer', async () => {
    const { timers, pending } = manualTimers();
    const confirmations = createConfirmations({ timers, timeoutMs: 1000 });
    const a = page(1);
    const answer = confirmations.ask(a.client, question);
    expect(a.sent).toEqual([{ kind: 'event', event: 'confirm', payload: { id: expect.any(String), ...question } }]);
    expect([...pending.values()].map((t) => t.ms)).toEqual([1000]);
    confirmations.answer(a.client, a.lastId(), true);
    expect(await answer).toBe(true);
    expect(pending.size).toBe(0);
    expect(confirmations.waiting()).toBe(0);
  });

  it('takes no answer in time as "no", and refuses the late answer', async () => {
    const { timers, fireAll } = manualTimers();
    const lines: string[] = [];
    const confirmations = createConfirmations({ timers, timeoutMs: 120_000, log: (l) => lines.push(l) });
    const a = page(1);
    const answer = confirmations.ask(a.client, question);
    fireAll();
    expect(await answer).toBe(false);
    expect(lines).toEqual(['page 1 did not answer "Erase drive?" within 120 s: taken as no']);
    expect(() => confirmations.answer(a.client, a.lastId(), true)).toThrow(/No question with this id is waiting/);
  });

  it('refuses a second answer, an unknown id and an answer from another page', async () => {
    const confirmations = createConfirmations({ timers: manualTimers().timers });
    const a = page(1);
    const b = page(2);
    const answer = confirmations.ask(a.client, question);
    const id = a.lastId();
    expect(() => confirmations.answer(b.client, id, true)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => confirmations.answer(undefined, id, true)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => confirmations.answer(a.client, 'made-up', true)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(confirmations.waiting()).toBe(1);
    confirmations.answer(a.client, id, false);
    expect(() => confirmations.answer(a.client, id, true)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(await answer).toBe(false);
    expect(b.sent).toEqual([]);
  });

  it('says "no" at once for a page that is gone, does not listen, or is not there at all', async () => {
    const confirmations = createConfirmations({ timers: manualTimers().timers });
    const gone = page(1);
    gone.client.closed = true;
    expect(await confirmations.ask(gone.client, question)).toBe(false);
    expect(await confirmations.ask(page(2, ['flash']).client, question)).toBe(false);
    expect(await confirmations.ask(undefined, question)).toBe(false);
    expect(confirmations.waiting()).toBe(0);
  });

  it('refuses what a page leaves waiting when it goes away, and only that page\'s questions', async () => {
    const { timers, pending } = manualTimers();
    const confirmations = createConfirmations({ timers });
    const a = page(1);
    const b = page(2);
    const first = confirmations.ask(a.client, question);
    const other = confirmations.ask(b.client, question);
    confirmations.dropClient(a.client);
    expect(await first).toBe(false);
    expect(confirmations.waiting()).toBe(1);
    expect(pending.size).toBe(1);
    confirmations.answer(b.client, b.lastId(), true);
    expect(await other).toBe(true);
  });
});
