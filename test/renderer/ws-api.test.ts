import { describe, expect, it } from 'vitest';
import { createWsApi, hostSocketUrl, type SocketLike } from '../../src/renderer/api/ws-api';
import type { FlashEvent } from '../../src/shared/api';
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

describe('WebSocket Api client', () => {
  it('builds the socket address from the page address and its token', () => {
    expect(hostSocketUrl({ protocol: 'http:', host: '127.0.0.1:4321', search: '?token=a-b_c' })).toBe('ws://127.0.0.1:4321/api?token=a-b_c');
  });

  it('holds calls until the socket opens, then matches each answer to its call', async () => {
    const fake = fakeSocket();
    const api = createWsApi(fake.socket);
    const settings = api.getSettings();
    const probe = api.probeImage('/images/os.img');
    expect(fake.sent).toEqual([]);
    fake.open();
    expect(fake.sent).toEqual([
      { kind: 'invoke', id: 1, method: 'getSettings', args: [] },
      { kind: 'invoke', id: 2, method: 'probeImage', args: ['/images/os.img'] },
    ]);
    fake.reply({ kind: 'result', id: 2, result: { ok: false, error: { code: 'IMAGE_NOT_FOUND', message: 'gone' } } });
    fake.reply({ kind: 'result', id: 1, result: { ok: true, value: { readback: false, retries: 5, eject: false, notifications: true } } });
    expect(await probe).toEqual({ ok: false, error: { code: 'IMAGE_NOT_FOUND', message: 'gone' } });
    expect(await settings).toMatchObject({ ok: true, value: { retries: 5 } });
  });

  it('asks for drive pushes only while someone listens, and delivers drive lists and flash events', () => {
    const fake = fakeSocket();
    fake.open();
    const api = createWsApi(fake.socket);
    const lists: string[][] = [];
    const events: FlashEvent[] = [];
    const offA = api.onDrives((drives) => lists.push(drives.map((d) => d.device)));
    const offB = api.onDrives(() => undefined);
    api.onFlashEvent((event) => events.push(event));
    fake.reply({ kind: 'drives', drives: [drive({ device: '/dev/sdb' })] });
    fake.reply({ kind: 'flash-event', event: { type: 'started', jobId: 'j', layout, targets } });
    offA();
    offB();
    expect(fake.sent).toEqual([
      { kind: 'watch-drives', on: true },
      { kind: 'watch-drives', on: false },
    ]);
    expect(lists).toEqual([['/dev/sdb']]);
    expect(events).toEqual([{ type: 'started', jobId: 'j', layout, targets }]);
  });

  it('fails pending and later calls with a plain message when the host goes away', async () => {
    const fake = fakeSocket();
    fake.open();
    const lost: string[] = [];
    const api = createWsApi(fake.socket, (message) => lost.push(message));
    const pending = api.listDrives();
    fake.close();
    fake.close();
    expect(lost).toEqual([expect.stringMatching(/^Lost the connection to the Sureflash host/)]);
    expect(await pending).toMatchObject({ ok: false, error: { code: 'INTERNAL', message: expect.stringMatching(/Lost the connection/) } });
    expect(await api.cancel('j')).toMatchObject({ ok: false });
  });

  it('cannot know where a dropped file lives', () => {
    expect(createWsApi(fakeSocket().socket).pathForFile(new File([''], 'x.img'))).toBeNull();
  });
});
