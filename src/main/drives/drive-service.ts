/**
 * The DriveService: lists drives on demand and, while at least one listener is subscribed, polls and
 * pushes the whole list whenever it changed. A failing poll is reported and skipped; polling goes on.
 */
import type { DriveInfo, Unsubscribe } from '../../shared/api';
import { listDrives } from './list-drives';

/** Drives on demand, and the whole list pushed to subscribers whenever it changes. */
export interface DriveService {
  list(): Promise<DriveInfo[]>;
  /** Pushes the whole list whenever it changes (polling while someone listens). */
  subscribe(listener: (drives: DriveInfo[]) => void): Unsubscribe;
}

export interface DriveServiceOptions {
  allowLoop: boolean;
  /** Pause between the end of one poll and the start of the next. */
  intervalMs?: number;
  /** Enumerator to use instead of drivelist (tests). */
  enumerate?: () => Promise<DriveInfo[]>;
  /** Called with errors of a poll (the poll is skipped, the next one runs as usual). */
  onError?: (err: unknown) => void;
}

/** The facts that matter for a change: device, size, mountpoints and every flag. */
function driveKey(drive: DriveInfo): string {
  return JSON.stringify([
    drive.device,
    drive.raw,
    drive.size,
    [...drive.mountpoints].sort(),
    drive.isSystem,
    drive.isRemovable,
    drive.isReadOnly,
    drive.isVirtual,
    drive.isCard,
    drive.isUSB,
    drive.isLoop,
    drive.description,
    drive.busType,
  ]);
}

/** A key for the whole list that does not depend on the enumeration order. */
export function driveListKey(drives: readonly DriveInfo[]): string {
  return drives.map(driveKey).sort().join('\n');
}

export function createDriveService(options: DriveServiceOptions): DriveService {
  const intervalMs = options.intervalMs ?? 2000;
  const enumerate = options.enumerate ?? (() => listDrives({ allowLoop: options.allowLoop }));
  const listeners = new Set<(drives: DriveInfo[]) => void>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let polling = false;
  let lastKey: string | null = null;
  let lastList: DriveInfo[] | null = null;

  const schedule = (delay: number): void => {
    if (listeners.size === 0 || timer !== null || polling) return;
    timer = setTimeout(() => {
      timer = null;
      void poll();
    }, delay);
  };

  const poll = async (): Promise<void> => {
    if (listeners.size === 0) return;
    polling = true;
    try {
      const drives = await enumerate();
      const key = driveListKey(drives);
      if (key !== lastKey) {
        lastKey = key;
        lastList = drives;
        for (const listener of [...listeners]) {
          try {
            listener(drives);
          } catch (err) {
            options.onError?.(err);
          }
        }
      }
    } catch (err) {
      options.onError?.(err);
    } finally {
      polling = false;
      schedule(intervalMs);
    }
  };

  return {
    list: () => enumerate(),
    subscribe(listener: (drives: DriveInfo[]) => void): Unsubscribe {
      const first = listeners.size === 0;
      listeners.add(listener);
      if (first) {
        // A fresh start: the first poll always pushes, so every new session sees a list.
        lastKey = null;
        lastList = null;
        schedule(0);
      } else if (lastList) {
        listener(lastList);
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && timer !== null) {
          clearTimeout(timer);
          timer = null;
        }
      };
    },
  };
}
