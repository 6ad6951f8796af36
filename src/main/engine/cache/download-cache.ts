/**
 * The download cache: an image fetched from a URL kept as a file, keyed by its URL (without credentials)
 * and the server's validator (strong ETag, else Last-Modified) plus its size, so the next flash of the same
 * image reads it from disk. An entry is re-hashed (sha256) before every reuse and dropped when it no longer
 * matches; entries beyond the size limit are evicted least recently used first. Each entry is a data file
 * and a small JSON file beside it, written atomically, so two processes sharing the folder never see half
 * an entry. The cache never fails a flash: a write that fails just leaves the image uncached.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { displayUrl, withoutCredentials } from '../source/http/url-parts';
import type { PassSink } from '../source/http/url-source';

export interface CacheEntry {
  key: string;
  /** The image's URL (display form: no credentials, query reduced). */
  url: string;
  validator: string;
  size: number;
  sha256: string;
  createdAt: string;
  lastUsedAt: string;
  /** The cached image file. */
  file: string;
}

/** Where the CLI keeps downloads: SUREFLASH_CACHE_DIR, else $XDG_CACHE_HOME/sureflash/images, else ~/.cache/sureflash/images. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SUREFLASH_CACHE_DIR) return env.SUREFLASH_CACHE_DIR;
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'sureflash', 'images');
}

/** sha256 of a whole file, streamed. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class DownloadCache {
  constructor(
    readonly dir: string,
    /** Most bytes kept (null: no limit). */
    readonly limitBytes: number | null = null,
    private readonly log: (level: 'info' | 'warn', message: string) => void = () => undefined,
  ) {}

  /** The entry key: URL without credentials (query kept: it may name a version), validator and size. */
  static keyOf(url: string, validator: string, size: number): string {
    return createHash('sha256').update(`${withoutCredentials(url).toString()}\n${validator}\n${size}`).digest('hex').slice(0, 32);
  }

  private paths(key: string): { data: string; meta: string } {
    return { data: join(this.dir, `${key}.img`), meta: join(this.dir, `${key}.json`) };
  }

  private async writeMeta(entry: CacheEntry): Promise<void> {
    const { meta } = this.paths(entry.key);
    const temp = `${meta}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await fsp.writeFile(temp, `${JSON.stringify(entry, null, 2)}\n`, { mode: 0o600 });
    await fsp.rename(temp, meta);
  }

  /**
   * The cached copy of `url` at this validator and size, re-hashed and found intact (its use time is then
   * updated), or null. A copy that no longer matches its recorded sha256 is removed.
   */
  async lookup(url: string, validator: string, size: number): Promise<CacheEntry | null> {
    const key = DownloadCache.keyOf(url, validator, size);
    const entry = await this.read(key);
    if (!entry) return null;
    const stat = await fsp.stat(entry.file).catch(() => null);
    const intact = stat !== null && stat.size === size && (await hashFile(entry.file).catch(() => '')) === entry.sha256;
    if (!intact) {
      this.log('warn', `the cached copy of ${entry.url} is damaged or incomplete: removed, downloading again`);
      await this.remove(key);
      return null;
    }
    const used = { ...entry, lastUsedAt: new Date().toISOString() };
    await this.writeMeta(used).catch(() => undefined);
    return used;
  }

  private async read(key: string): Promise<CacheEntry | null> {
    try {
      const entry = JSON.parse(await fsp.readFile(this.paths(key).meta, 'utf8')) as CacheEntry;
      return typeof entry.sha256 === 'string' && typeof entry.size === 'number' ? { ...entry, key, file: this.paths(key).data } : null;
    } catch {
      return null;
    }
  }

  /** A sink that writes one whole download into the cache; null when it cannot be cached (too large). */
  async begin(url: string, validator: string, size: number | null): Promise<PassSink | null> {
    if (size !== null && this.limitBytes !== null && size > this.limitBytes) {
      this.log('info', `${displayUrl(url)} is larger than the cache limit: not cached`);
      return null;
    }
    try {
      await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      this.log('warn', `cannot create the cache folder ${this.dir} (${(err as Error).message}): not cached`);
      return null;
    }
    const temp = join(this.dir, `.${process.pid}.${Math.random().toString(36).slice(2)}.part`);
    let handle: fsp.FileHandle | null = await fsp.open(temp, 'w', 0o600).catch(() => null);
    let written = 0;
    const give = async (why: string): Promise<void> => {
      if (why) this.log('warn', `the download is not cached: ${why}`);
      const h = handle;
      handle = null;
      await h?.close().catch(() => undefined);
      await fsp.rm(temp, { force: true });
    };
    if (!handle) return null;
    return {
      write: async (chunk) => {
        if (!handle) return;
        try {
          await handle.write(chunk, 0, chunk.byteLength, written);
          written += chunk.byteLength;
        } catch (err) {
          await give((err as Error).message);
        }
      },
      commit: async (sha256, bytes) => {
        if (!handle) return;
        try {
          await handle.close();
          handle = null;
          const key = DownloadCache.keyOf(url, validator, bytes);
          await fsp.rename(temp, this.paths(key).data);
          const now = new Date().toISOString();
          await this.writeMeta({ key, url: displayUrl(url), validator, size: bytes, sha256, createdAt: now, lastUsedAt: now, file: this.paths(key).data });
          this.log('info', `kept ${displayUrl(url)} in the download cache`);
          if (this.limitBytes !== null) await this.evict(this.limitBytes, key);
        } catch (err) {
          await give((err as Error).message);
        }
      },
      abort: () => give(''),
    };
  }

  /** Every complete entry, most recently used first. */
  async list(): Promise<CacheEntry[]> {
    const names = await fsp.readdir(this.dir).catch(() => [] as string[]);
    const entries = await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => this.read(n.slice(0, -5))));
    return entries.filter((e): e is CacheEntry => e !== null).sort((a, b) => b.lastUsedAt.localeCompare(a.lastUsedAt));
  }

  /** Bytes the entries hold. */
  async totalBytes(): Promise<number> {
    return (await this.list()).reduce((n, e) => n + e.size, 0);
  }

  async remove(key: string): Promise<void> {
    const { data, meta } = this.paths(key);
    await fsp.rm(meta, { force: true });
    await fsp.rm(data, { force: true });
  }

  /** Removes least recently used entries until at most `limit` bytes remain (`keep` is removed last). */
  async evict(limit: number, keep?: string): Promise<CacheEntry[]> {
    const entries = (await this.list()).reverse(); // oldest use first
    entries.sort((a, b) => Number(a.key === keep) - Number(b.key === keep));
    let total = entries.reduce((n, e) => n + e.size, 0);
    const removed: CacheEntry[] = [];
    for (const entry of entries) {
      if (total <= limit) break;
      await this.remove(entry.key);
      total -= entry.size;
      removed.push(entry);
    }
    return removed;
  }

  /** Removes every entry and leftover partial download. */
  async clear(): Promise<{ removed: number; bytes: number }> {
    const entries = await this.list();
    for (const entry of entries) await this.remove(entry.key);
    const names = await fsp.readdir(this.dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith('.part') || n.endsWith('.tmp'))) await fsp.rm(join(this.dir, name), { force: true });
    return { removed: entries.length, bytes: entries.reduce((n, e) => n + e.size, 0) };
  }
}
