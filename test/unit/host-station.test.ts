/** The browser host's station: its events go to the page that armed it, and that page leaving stops it. */
import { describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../src/shared/api';
import type { HostEventMessage } from '../../src/shared/host-protocol';
import type { StationEvent, StationState, StationStatus } from '../../src/shared/station';
import type { HostClient } from '../../src/main/host/host-client';
import { createHostStation } from '../../src/main/host/host-station';
import { IDLE_STATION } from '../../src/main/services/station-api';

function page(id: number) {
  const got: StationEvent[] = [];
  const client = {
    id,
    closed: false,
    listens: (event: ApiEvent) => event === 'station',
    push: (message: HostEventMessage) => (message.event === 'station' && !client.closed ? (got.push(message.payload), true) : false),
  };
  return { client: client as HostClient & { closed: boolean }, got };
}

function station() {
  const listeners = new Set<(event: StationEvent) => void>();
  const stops: boolean[] = [];
  let state: StationState = 'idle';
  return {
    stops,
    setState: (next: StationState) => void (state = next),
    emit: (event: StationEvent) => listeners.forEach((l) => l(event)),
    api: {
      subscribe: (l: (event: StationEvent) => void) => (listeners.add(l), () => void listeners.delete(l)),
      stop: (cancel: boolean): StationStatus => (stops.push(cancel), { ...IDLE_STATION, state }),
      status: (): StationStatus => ({ ...IDLE_STATION, state }),
    },
  };
}

const waiting: StationEvent = { type: 'waiting', sessionId: 's1', running: 0, maxCards: 2 };
const stopped: StationEvent = {
  type: 'stopped',
  sessionId: 's1',
  summary: { sessionId: 's1', station: 'x', startedAt: '', stoppedAt: '', taken: 0, verified: 0, failed: 0, cancelled: 0, writtenUnverified: 0, lost: 0, health: { keep: 0, watch: 0, retire: 0 }, allVerified: false },
};

describe('host station', () => {
  it('holds the events sent while the arming call runs, then gives them to that page only', () => {
    const s = station();
    const host = createHostStation({ station: s.api, log: () => undefined });
    const owner = page(1);
    const other = page(2);
    s.setState('armed');
    s.emit(waiting);
    host.adopt(owner.client);
    s.emit({ ...waiting, running: 1 });
    expect(owner.got.map((e) => e.type === 'waiting' && e.running)).toEqual([0, 1]);
    expect(other.got).toEqual([]);
  });

  it('the owner leaving stops the station and cancels its cards; another page leaving does not', () => {
    const s = station();
    const logged: string[] = [];
    const host = createHostStation({ station: s.api, log: (line) => logged.push(line) });
    const owner = page(1);
    s.setState('armed');
    host.adopt(owner.client);
    host.release(page(2).client);
    expect(s.stops).toEqual([]);
    owner.client.closed = true;
    host.release(owner.client);
    expect(s.stops).toEqual([true]);
    expect(logged[0]).toMatch(/page 1 went away while the station was armed/);
  });

  it('a stopped station is no page’s any more, and idle resolves once it stopped', async () => {
    const s = station();
    const host = createHostStation({ station: s.api, log: () => undefined });
    const owner = page(1);
    s.setState('armed');
    host.adopt(owner.client);
    let idle = false;
    const waited = host.idle().then(() => void (idle = true));
    s.setState('stopped');
    s.emit(stopped);
    await waited;
    expect(idle).toBe(true);
    host.release(owner.client);
    expect(s.stops).toEqual([]);
  });
});
