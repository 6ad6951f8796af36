/**
 * Settings kept as a small JSON file in the user data folder. Reading tolerates a missing, damaged or
 * hand-edited file (each field falls back to its default; retries are clamped); writing is atomic
 * (temp file + rename), one write at a time.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SETTINGS, type Settings, type ThemeSetting } from '../../shared/api';
import { clampRetries } from '../../shared/retry-limit';
import type { SettingsService } from './types';

export const SETTINGS_FILE = 'settings.json';
/** Largest cache limit accepted (1 TiB). */
export const MAX_CACHE_LIMIT_BYTES = 1024 ** 4;

/** Turns anything (parsed JSON, a patch merged over it) into valid Settings: defaults, clamped retries. */
export function normaliseSettings(value: unknown): Settings {
  const record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const bool = (key: 'readback' | 'skipIdentical' | 'probe' | 'eject' | 'notifications'): boolean =>
    typeof record[key] === 'boolean' ? record[key] : DEFAULT_SETTINGS[key];
  const rawRetries = record.retries;
  const retries =
    typeof rawRetries === 'number' && Number.isFinite(rawRetries)
      ? clampRetries(rawRetries)
      : DEFAULT_SETTINGS.retries;
  const themes: ThemeSetting[] = ['system', 'light', 'dark'];
  const theme = themes.find((t) => t === record.theme) ?? DEFAULT_SETTINGS.theme;
  const rawLimit = record.cacheLimitBytes;
  const cacheLimitBytes =
    typeof rawLimit === 'number' && Number.isFinite(rawLimit)
      ? Math.min(MAX_CACHE_LIMIT_BYTES, Math.max(0, Math.round(rawLimit)))
      : DEFAULT_SETTINGS.cacheLimitBytes;
  return {
    readback: bool('readback'),
    retries,
    skipIdentical: bool('skipIdentical'),
    probe: bool('probe'),
    eject: bool('eject'),
    notifications: bool('notifications'),
    theme,
    cacheLimitBytes,
  };
}

export function createSettingsService(userDataDir: string): SettingsService {
  const file = join(userDataDir, SETTINGS_FILE);
  let current: Settings | null = null;
  let queue: Promise<unknown> = Promise.resolve();

  const load = async (): Promise<Settings> => {
    if (current) return current;
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      // Missing or damaged: start from the defaults; the next change rewrites the file.
    }
    current = normaliseSettings(parsed);
    return current;
  };

  const save = async (settings: Settings): Promise<void> => {
    await mkdir(userDataDir, { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, file);
  };

  /** Runs changes one after another so two quick patches cannot interleave their writes. */
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const next = queue.then(task, task);
    queue = next.catch(() => undefined);
    return next;
  };

  return {
    get: () => serial(load),
    set: (patch) =>
      serial(async () => {
        const next = normaliseSettings({ ...(await load()), ...patch });
        await save(next);
        current = next;
        return next;
      }),
  };
}
