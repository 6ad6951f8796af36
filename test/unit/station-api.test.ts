/** The station as the Api offers it: main's question first, the log file chosen by main, one session at a time. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DriveInfo, StationRequest } from '../../src/shared/api';
import type { StationOptions, StationState } from '../../src/shared/station';
import { stationConfirmation } from '../../src/shared/station-confirmation';
import { createStationApi, IDLE_STATION } from '../../src/main/services/station-api';
import type { StationService } from '../../src/main/station/types';

const dir = mkdtempSync(join(tmpdir(), 'sureflash-station-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const present: DriveInfo = {
  device: '/dev/sda', raw: '/dev/sda', description: 'Backup disk', size: 2e12, isSystem: false, isRemovable: false, isReadOnly: false,
  isVirtual: false, isCard: false, isUSB: true, isLoop: false, busType: 'USB', mountpoints: [],
};
const request: StationRequest = { imagePath: '/images/os.img', retries: 3, skipIdentical: false, readback: true, probe: true, maxCards: 2, slots: [], maxSizeBytes: 64e9 };

function service(state: StationState = 'idle') {
  const armed: StationOptions[] = [];
  const station = {
    arm: async (options: StationOptions) => (armed.push(options), { ...IDLE_STATION, state: 'armed' as const }),
    stop: () => IDLE_STATION,
    cancelCard: () => undefined,
    status: () => ({ ...IDLE_STATION, state }),
    subscribe: () => () => undefined,
    whenStopped: async () => null,
  } satisfies StationService;
  return { station, armed };
}

describe('station api', () => {
  it("asks main's question naming the drives present now; a no arms nothing", async () => {
    const { station, armed } = service();
    const asked: unknown[] = [];
    const api = createStationApi({
      station,
      listDrives: async () => [present],
      confirm: async (req, name, drives) => (asked.push([req, name, drives.map((d) => d.device)]), false),
      logDir: join(dir, 'logs'),
    });
    await expect(api.arm(request)).rejects.toMatchObject({ code: 'NOT_CONFIRMED' });
    expect(asked).toEqual([[request, 'os.img', ['/dev/sda']]]);
    expect(armed).toEqual([]);
  });

  it('arms with the log file main chose (one per day in its folder, created) and nothing the page did not send', async () => {
    const { station, armed } = service();
    const logDir = join(dir, 'station-logs');
    const api = createStationApi({ station, listDrives: async () => [], confirm: async () => true, logDir, ioTimeoutMs: 5000, now: () => new Date('2026-12-06T10:00:00Z') });
    await api.arm(request);
    expect(existsSync(logDir)).toBe(true);
    expect(armed).toEqual([{ ...request, logFile: join(logDir, 'station-2026-12-06.jsonl'), ioTimeoutMs: 5000 }]);
  });

  it('refuses a second arming while a session runs, before asking anything', async () => {
    const { station } = service('stopping');
    let asked = false;
    const api = createStationApi({ station, listDrives: async () => [], confirm: async () => (asked = true), logDir: null });
    await expect(api.arm(request)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/already armed/) });
    expect(asked).toBe(false);
  });

  it('the question says what is taken, what never is, and that a taken card is erased', () => {
    const q = stationConfirmation(request, 'os.img', [present]);
    expect(q.title).toBe('Arm the station?');
    expect(q.message).toBe('Erase and flash os.img onto every card or USB drive inserted from now on?');
    expect(q.detail).toContain('Up to 2 at a time. Drives larger than 64 GB, read-only drives and system drives are never taken.');
    expect(q.detail).toContain('The drive present now is never touched:\n  Backup disk (/dev/sda, 2 TB)');
    expect(q.detail).toMatch(/Everything on a card the station takes is lost\.$/);
    expect(q.danger).toBe(true);
  });
});
