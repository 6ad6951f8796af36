import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../src/shared/api';
import { SETTINGS_FILE, createSettingsService, normaliseSettings } from '../../src/main/services/settings-service';

let dir: string;
beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'sureflash-settings-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('settings service', () => {
  it('starts from the defaults when there is no file', async () => {
    expect(await createSettingsService(join(dir, 'not-yet')).get()).toEqual(DEFAULT_SETTINGS);
    expect(DEFAULT_SETTINGS).toEqual({ readback: true, retries: 3, skipIdentical: false, probe: true, eject: false, notifications: true, theme: 'system', cacheLimitBytes: 8 * 1024 ** 3 });
  });

  it('persists a patch atomically with owner-only access and reads it back in a new instance', async () => {
    const userData = join(dir, 'user-data');
    const saved = await createSettingsService(userData).set({ retries: 7, eject: true });
    expect(saved).toEqual({ ...DEFAULT_SETTINGS, retries: 7, eject: true });
    expect(await createSettingsService(userData).get()).toEqual(saved);
    expect(readdirSync(userData)).toEqual([SETTINGS_FILE]);
    expect(statSync(join(userData, SETTINGS_FILE)).mode & 0o777).toBe(0o600);
  });

  it('keeps both of two quick patches', async () => {
    const service = createSettingsService(dir);
    await Promise.all([service.set({ readback: false }), service.set({ notifications: false })]);
    const onDisk = JSON.parse(readFileSync(join(dir, SETTINGS_FILE), 'utf8'));
    expect(onDisk).toEqual({ ...DEFAULT_SETTINGS, readback: false, notifications: false });
  });

  it('survives a damaged file and repairs it on the next change', async () => {
    writeFileSync(join(dir, SETTINGS_FILE), '{ not json');
    const service = createSettingsService(dir);
    expect(await service.get()).toEqual(DEFAULT_SETTINGS);
    await service.set({ retries: 1 });
    expect(JSON.parse(readFileSync(join(dir, SETTINGS_FILE), 'utf8')).retries).toBe(1);
  });

  it('clamps and defaults hand-edited values field by field', async () => {
    writeFileSync(join(dir, SETTINGS_FILE), JSON.stringify({ readback: 'no', retries: 99, eject: true, extra: 1, theme: 'sepia', probe: false }));
    expect(await createSettingsService(dir).get()).toEqual({ ...DEFAULT_SETTINGS, retries: 10, eject: true, probe: false });
    expect(normaliseSettings({ retries: -4 }).retries).toBe(0);
    expect(normaliseSettings({ retries: 2.6 }).retries).toBe(3);
    expect(normaliseSettings({ retries: Number.NaN }).retries).toBe(3);
    expect(normaliseSettings(null)).toEqual(DEFAULT_SETTINGS);
  });
});
