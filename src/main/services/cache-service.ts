/**
 * The app's download cache for URL images: on by default, kept in the user data folder, limited by the
 * `cacheLimitBytes` setting (0 turns it off). The flash service asks it for a job's cache options; the
 * settings screen can list and clear it, and a lowered limit is enforced at once.
 */
import { join } from 'node:path';
import { DownloadCache, type CacheEntry } from '../engine/cache/download-cache';
import type { ImageCacheOptions } from '../engine/image-options';
import type { SettingsService } from './types';

export const CACHE_FOLDER = 'image-cache';

export interface CacheService {
  /** The cache a job uses under the current settings, or null when the limit is 0 (off). */
  jobOptions(): Promise<ImageCacheOptions | null>;
  list(): Promise<CacheEntry[]>;
  /** Removes everything; returns what was removed. */
  clear(): Promise<{ removed: number; bytes: number }>;
  /** Evicts least recently used entries down to the current limit (call after the setting changes). */
  enforceLimit(): Promise<CacheEntry[]>;
}

export function createCacheService(userDataDir: string, settings: Pick<SettingsService, 'get'>): CacheService {
  const dir = join(userDataDir, CACHE_FOLDER);
  const cache = new DownloadCache(dir);
  return {
    jobOptions: async () => {
      const { cacheLimitBytes } = await settings.get();
      return cacheLimitBytes > 0 ? { dir, limitBytes: cacheLimitBytes } : null;
    },
    list: () => cache.list(),
    clear: () => cache.clear(),
    enforceLimit: async () => cache.evict((await settings.get()).cacheLimitBytes),
  };
}
