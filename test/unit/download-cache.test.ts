/**
 * The download cache: entries keyed by URL + validator + size, re-hashed before reuse, LRU eviction under a
 * limit, credentials never stored; the app's cache service follows the cacheLimitBytes setting.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DownloadCache } from '../../src/main/engine/cache/download-cache';
import { createCacheService } from '../../src/main/services/cache-service';
import { normaliseSettings } from '../../src/main/services/settings-service';
import { DEFAULT_SETTINGS, type Settings } from '../../src/shared/api';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sureflash-cache-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function store(cache: DownloadCache, url: string, data: Buffer, validator = '"v1"'): Promise<void> {
  const sink = await cache.begin(url, validator, data.length);
  if (!sink) throw new Error('not cacheable');
  await sink.write(data.subarray(0, 10));
  await sink.write(data.subarray(10));
  await sink.commit(sha(data), data.length);
}

describe('DownloadCache', () => {
  it('keeps, finds and re-verifies an entry; another validator or size misses', async () => {
    const cache = new DownloadCache(dir);
    const data = Buffer.from('image bytes '.repeat(1000));
    await store(cache, 'https://lab:pw@h.test/os.img.xz?v=1', data);
    const hit = await cache.lookup('https://lab:pw@h.test/os.img.xz?v=1', '"v1"', data.length);
    expect(hit && readFileSync(hit.file).equals(data)).toBe(true);
    expect(hit?.url).toBe('https://h.test/os.img.xz?…');
    expect(await cache.lookup('https://h.test/os.img.xz?v=1', '"v2"', data.length)).toBeNull();
    expect(await cache.lookup('https://h.test/os.img.xz?v=2', '"v1"', data.length)).toBeNull();
    for (const name of readdirSync(dir)) expect(readFileSync(join(dir, name), 'latin1')).not.toContain('pw@');
  });

  it('a damaged copy is found out by its hash and removed', async () => {
    const cache = new DownloadCache(dir);
    const data = Buffer.alloc(5000, 3);
    await store(cache, 'http://h.test/a.img', data);
    const entry = (await cache.list())[0]!;
    writeFileSync(entry.file, Buffer.alloc(5000, 4));
    expect(await cache.lookup('http://h.test/a.img', '"v1"', 5000)).toBeNull();
    expect(await cache.list()).toHaveLength(0);
  });

  it('an aborted download leaves nothing behind', async () => {
    const cache = new DownloadCache(dir);
    const sink = await cache.begin('http://h.test/a.img', '"v1"', 100);
    await sink?.write(Buffer.alloc(50));
    await sink?.abort();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('evicts least recently used entries beyond the limit; an image larger than the limit is not kept', async () => {
    const cache = new DownloadCache(dir, 2500);
    await store(cache, 'http://h.test/1.img', Buffer.alloc(1000, 1));
    await new Promise((r) => setTimeout(r, 5));
    await store(cache, 'http://h.test/2.img', Buffer.alloc(1000, 2));
    await new Promise((r) => setTimeout(r, 5));
    expect(await cache.lookup('http://h.test/1.img', '"v1"', 1000)).not.toBeNull(); // 1 is now the most recent
    await new Promise((r) => setTimeout(r, 5));
    await store(cache, 'http://h.test/3.img', Buffer.alloc(1000, 3));
    expect((await cache.list()).map((e) => e.url).sort()).toEqual(['http://h.test/1.img', 'http://h.test/3.img']);
    expect(await cache.begin('http://h.test/big.img', '"v1"', 3000)).toBeNull();
    expect(await cache.clear()).toEqual({ removed: 2, bytes: 2000 });
  });
});

describe('the app\'s cache service and the cacheLimitBytes setting', () => {
  it('off at 0, on with the limit otherwise; a lowered limit evicts', async () => {
    let settings: Settings = { ...DEFAULT_SETTINGS };
    const service = createCacheService(dir, { get: async () => settings });
    expect(await service.jobOptions()).toEqual({ dir: join(dir, 'image-cache'), limitBytes: DEFAULT_SETTINGS.cacheLimitBytes });
    const cache = new DownloadCache(join(dir, 'image-cache'));
    await store(cache, 'http://h.test/1.img', Buffer.alloc(1000, 1));
    settings = { ...settings, cacheLimitBytes: 500 };
    expect(await service.enforceLimit()).toHaveLength(1);
    settings = { ...settings, cacheLimitBytes: 0 };
    expect(await service.jobOptions()).toBeNull();
  });

  it('settings clamp the limit and default it', () => {
    expect(normaliseSettings({}).cacheLimitBytes).toBe(DEFAULT_SETTINGS.cacheLimitBytes);
    expect(normaliseSettings({ cacheLimitBytes: -5 }).cacheLimitBytes).toBe(0);
    expect(normaliseSettings({ cacheLimitBytes: 1e18 }).cacheLimitBytes).toBe(1024 ** 4);
    expect(normaliseSettings({ cacheLimitBytes: 'x' }).cacheLimitBytes).toBe(DEFAULT_SETTINGS.cacheLimitBytes);
  });
});
