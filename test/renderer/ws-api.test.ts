import { describe, expect, it } from 'vitest';
import {
  createWsApi,
  hostSocketUrl,
  HOST_LOST_MESSAGE,
  HOST_REFUSED_MESSAGE,
  NO_TOKEN_MESSAGE,
  takeHostToken,
  TOKEN_STORAGE_KEY,
  type SocketLike,
} from '../../src/renderer/api/ws-api';
import { API_EVENT_LISTENERS, API_INVOKE_METHODS, type ConfirmRequest, type FlashEvent } from '../../src/shared/api';
import type { HostMessage, HostRequest } from '../../src/shared/host-protocol';
import { drive, layout, targets } from './fake-api';

/** A socket double: records what the client sends and lets the test play the host. */
function fakeSocket() {
  const listeners = new Map<string, ((event: { data: unknown }) => void)[]>();
  const sent: HostRequest[] = [];
  const socket = {
    readyState: 0,
    send: (data: string) => void sent.push(JSON.parse(data) as HostRequest),
    addEventListener: (type: string, listener: (event: { data: unknown }) => void) => {
      listeners.set(type, [...(listeners.get(type) ?? []), listener]);
    },
  };
  const emit = (type: string, data?: unknown) => listeners.get(type)?.forEach((l) => l({ data }));
  return {
    socket: socket as SocketLike,
    sent,
    open() {
      socket.readyState = 1;
      emit('open');
    },
    reply: (message: HostMessage) => emit('message', JSON.stringify(message)),
    close: () => emit('close'),
  };
}

/** A history double that records the address the page was given. */
function fakeHistory() {
  const urls: string[] = [];
  return { urls, history: { state: null, replaceState: (_state: unknown, _title: string, url?: string | URL | null) => void urls.push(String(url)) } };
}

function memoryStorage(initial: Record<string, string> = {}) {
  const items = new Map(Object.entries(initial));
  return { items, getItem: (key: string) => items.get(key) ?? null, setItem: (key: string, value: string) => void items.set(key, value) };
}

const question: ConfirmRequest = { id: 'q1', title: 'Erase drive?', message: 'Erase it?', detail: 'All lost.', confirmLabel: 'Erase and flash', danger: true };

describe('the host token in the page', () => {
  it('takes a non-empty ?token= into this tab\'s storage and out of the address, keeping the rest of it', () => {
    const { urls, history } = fakeHistory();
    const storage = memoryStorage();
    expect(takeHostToken({ href: 'http://127.0.0.1:4321/?token=abc_-1&x=2#top' }, history, storage)).toBe('abc_-1');
    expect(urls).toEqual(['/?x=2#top']);
    expect(storage.items.get(TOKEN_STORAGE_KEY)).toBe('abc_-1');
  });

  it('after a reload (no token in the address) uses the stored token, and leaves the address alone', () => {
    const { urls, history } = fakeHistory();
    expect(takeHostToken({ href: 'http://127.0.0.1:4321/' }, history, memoryStorage({ [TOKEN_STORAGE_KEY]: 'kept' }))).toBe('kept');
    expect(urls).toEqual([]);
  });

  it('does not let an empty ?token= override the stored one, and strips it too', () => {
    const { urls, history } = fakeHistory();
    expect(takeHostToken({ href: 'http://127.0.0.1:4321/?token=' }, history, memoryStorage({ [TOKEN_STORAGE_KEY]: 'kept' }))).toBe('kept');
    expect(urls).toEqual(['/']);
  });

  it('has no token when neither the address nor the tab has one; uses the address when storage is refused', () => {
    expect(takeHostToken({ href: 'http://127.0.0.1:4321/' }, fakeHistory().history, memoryStorage())).toBeNull();
    const refusing = { getItem: () => { throw new Error('SecurityError'); }, setItem: () => { throw new Error('SecurityError'); } };
    expect(takeHostToken({ href: 'http://127.0.0.1:4321/?token=t' }, fakeHistory().history, refusing)).toBe('t');
    expect(takeHostToken({ href: 'http://127.0.0.1:4321/?token=t' }, fakeHistory().history, null)).toBe('t');
  });

  it('builds the socket address from the page address only (the token goes in the handshake)', () => {
    expect(hostSocketUrl({ protocol: 'http:', host: '127.0.0.1:4321' })).toBe('ws://127.0.0.1:4321/api');
  });
});

describe('WebSocket Api client', () => {
  it('is built from the contract: every invoke method, every listener and pathForFile, nothing else', () => {
    const api = createWsApi(fakeSocket().socket);
    expect(Object.keys(api).sort()).toEqual([...API_INVOKE_METHODS, ...Object.values(API_EVENT_LISTENERS), 'pathForFile'].sort());
  });

  it('holds calls until the socket opens, then matches each answer to its call', async () => {
    const fake = fakeSocket();
    const api = createWsApi(fake.socket);
    const settings = api.getSettings();
    const probe = api.probeImage('/images/os.img');
    const answer = api.answerConfirm('q1', false);
    expect(fake.sent).toEqual([]);
    fake.open();
    expect(fake.sent).toEqual([
      { kind: 'invoke', id: 1, method: 'getSettings', args: [] },
      { kind: 'invoke', id: 2, method: 'probeImage', args: ['/images/os.img'] },
      { kind: 'invoke', id: 3, method: 'answerConfirm', args: ['q1', false] },
    ]);
    fake.reply({ kind: 'result', id: 2, result: { ok: false, error: { code: 'IMAGE_NOT_FOUND', message: 'gone' } } });
    fake.reply({ kind: 'result', id: 1, result: { ok: true, value: { readback: false, retries: 5, eject: false, notifications: true } } });
    fake.reply({ kind: 'result', id: 3, result: { ok: true, value: null } });
    expect(await probe).toEqual({ ok: false, error: { code: 'IMAGE_NOT_FOUND', message: 'gone' } });
    expect(await settings).toMatchObject({ ok: true, value: { retries: 5 } });
    expect(await answer).toEqual({ ok: true, value: null });
  });

  it('listens for each event only while someone listens, and delivers drive lists, flash events and questions', () => {
    const fake = fakeSocket();
    fake.open();
    const api = createWsApi(fake.socket);
    const lists: string[][] = [];
    const events: FlashEvent[] = [];
    const questions: ConfirmRequest[] = [];
    const offA = api.onDrives((drives) => lists.push(drives.map((d) => d.device)));
    const offB = api.onDrives(() => undefined);
    const offFlash = api.onFlashEvent((event) => events.push(event));
    api.onConfirm((request) => questions.push(request));
    fake.reply({ kind: 'event', event: 'drives', payload: [drive({ device: '/dev/sdb' })] });
    fake.reply({ kind: 'event', event: 'flash', payload: { type: 'started', jobId: 'j', layout, targets } });
    fake.reply({ kind: 'event', event: 'confirm', payload: question });
    offA();
    offB();
    offFlash();
    expect(fake.sent).toEqual([
      { kind: 'listen', event: 'drives', on: true },
      { kind: 'listen', event: 'flash', on: true },
      { kind: 'listen', event: 'confirm', on: true },
      { kind: 'listen', event: 'drives', on: false },
      { kind: 'listen', event: 'flash', on: false },
    ]);
    expect(lists).toEqual([['/dev/sdb']]);
    expect(events).toEqual([{ type: 'started', jobId: 'j', layout, targets }]);
    expect(questions).toEqual([question]);
  });

  it('fails pending and later calls with a plain message when the host goes away', async () => {
    const fake = fakeSocket();
    fake.open();
    const lost: string[] = [];
    const api = createWsApi(fake.socket, (message) => lost.push(message));
    const pending = api.listDrives();
    fake.close();
    fake.close();
    expect(lost).toEqual([HOST_LOST_MESSAGE]);
    expect(await pending).toMatchObject({ ok: false, error: { code: 'INTERNAL', message: HOST_LOST_MESSAGE } });
    expect(await api.cancel('j')).toMatchObject({ ok: false });
  });

  it('says the address is wrong when the host refuses the handshake (a token from an earlier run)', async () => {
    const fake = fakeSocket();
    const lost: string[] = [];
    const api = createWsApi(fake.socket, (message) => lost.push(message));
    const pending = api.getSettings();
    fake.close();
    expect(lost).toEqual([HOST_REFUSED_MESSAGE]);
    expect(await pending).toMatchObject({ ok: false, error: { message: HOST_REFUSED_MESSAGE } });
  });

  it('without a token, connects to nothing and says how to get one', async () => {
    const lost: string[] = [];
    const api = createWsApi(null, (message) => lost.push(message));
    const result = await api.listDrives();
    expect(result).toMatchObject({ ok: false, error: { message: NO_TOKEN_MESSAGE } });
    expect(lost).toEqual([NO_TOKEN_MESSAGE]);
  });

  it('cannot know where a dropped file lives', () => {
    expect(createWsApi(fakeSocket().socket).pathForFile(new File([''], 'x.img'))).toBeNull();
  });
});
