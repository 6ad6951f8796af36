/**
 * Pushes main's events (drive list, flash events, station events) to our window only, on the API_EVENTS channels. Services
 * know nothing of windows: they get subscribed here, and a closed window simply stops receiving.
 */
import type { WebContents } from 'electron';
import { API_EVENTS, type DriveInfo, type FlashEvent } from '../../shared/api';
import type { StationEvent } from '../../shared/station';
import type { MainServices } from '../services/types';

export interface PushTarget {
  isDestroyed(): boolean;
  webContents: Pick<WebContents, 'send' | 'isDestroyed'>;
}

/** Subscribes to the services and forwards to the window; returns the unsubscribe. */
export function pushEvents(services: Pick<MainServices, 'drives' | 'flash' | 'station'>, getWindow: () => PushTarget | null): () => void {
  const send = (channel: string, payload: DriveInfo[] | FlashEvent | StationEvent): void => {
    const win = getWindow();
    if (!win || win.isDestroyed() || win.webContents.isDestroyed()) return;
    win.webContents.send(channel, payload);
  };
  const offDrives = services.drives.subscribe((drives) => send(API_EVENTS.drives, drives));
  const offFlash = services.flash.subscribe((event) => send(API_EVENTS.flash, event));
  const offStation = services.station.subscribe((event) => send(API_EVENTS.station, event));
  return () => {
    offDrives();
    offFlash();
    offStation();
  };
}
