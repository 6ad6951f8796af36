/**
 * Which page owns the station in the browser host. The station's events go only to the page that armed it
 * (those that come before its arm call returned are held until then). When that page goes away — closed,
 * reloaded, socket dropped — the station stops taking cards and cancels the running ones, as a page's
 * flash jobs end with it: no station keeps erasing inserted cards with no one watching.
 */
import type { StationEvent } from '../../shared/station';
import type { StationApi } from '../services/types';
import type { HostClient } from './host-client';

/** Events held for an arming page whose call has not returned yet. */
const MAX_HELD_EVENTS = 256;

export interface HostStation {
  /** `client`'s armStation call succeeded: the station's events go to it from now on, held ones first. */
  adopt(client: HostClient): void;
  /** `client` went away: if it owns a running station, stops it and cancels its cards. */
  release(client: HostClient): void;
  /** Resolves once no station session runs. */
  idle(): Promise<void>;
  stop(): void;
}

export interface HostStationOptions {
  station: Pick<StationApi, 'subscribe' | 'stop' | 'status'>;
  log(line: string): void;
}

const running = (station: Pick<StationApi, 'status'>): boolean => {
  const state = station.status().state;
  return state === 'armed' || state === 'stopping' || state === 'cancelling';
};

export function createHostStation(options: HostStationOptions): HostStation {
  let owner: HostClient | null = null;
  let held: StationEvent[] = [];
  const idleWaiters: (() => void)[] = [];

  const deliver = (event: StationEvent): void => {
    if (owner === null) {
      if (held.length >= MAX_HELD_EVENTS) {
        const progress = held.findIndex((e) => e.type === 'card-progress');
        held.splice(progress >= 0 ? progress : 0, 1);
      }
      held.push(event);
    } else if (!owner.closed) {
      owner.push({ kind: 'event', event: 'station', payload: event });
    }
  };

  const off = options.station.subscribe((event) => {
    deliver(event);
    if (event.type === 'stopped') {
      // The next session starts with no owner and nothing held.
      owner = null;
      held = [];
      setImmediate(() => {
        if (!running(options.station)) for (const resolve of idleWaiters.splice(0)) resolve();
      });
    }
  });

  const release = (client: HostClient): void => {
    if (owner !== client || !running(options.station)) return;
    options.log(`page ${client.id} went away while the station was armed: stopping it and cancelling its running cards`);
    options.station.stop(true);
  };

  return {
    adopt(client) {
      owner = client;
      const events = held;
      held = [];
      for (const event of events) deliver(event);
      if (client.closed) release(client);
    },
    release,
    idle: () =>
      new Promise<void>((resolve) => {
        if (!running(options.station)) resolve();
        else idleWaiters.push(resolve);
      }),
    stop: () => off(),
  };
}
