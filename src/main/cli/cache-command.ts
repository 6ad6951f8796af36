/**
 * `sureflash cache ls [--json]` and `sureflash cache clear`: the downloads kept by `copy --cache`
 * (SUREFLASH_CACHE_DIR, else $XDG_CACHE_HOME/sureflash/images, else ~/.cache/sureflash/images).
 */
import { parseArgs } from 'node:util';
import { formatBytes } from '../../shared/format';
import { defaultCacheDir, DownloadCache } from '../engine/cache/download-cache';
import { UsageError } from './flash-args';
import type { ProgressOutput } from './progress-display';

export async function runCacheCommand(argv: string[], io: { stdout: ProgressOutput; stderr: ProgressOutput }, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { json: { type: 'boolean' } } });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [action, ...extra] = parsed.positionals;
  if (extra.length > 0 || (action !== 'ls' && action !== 'clear')) {
    throw new UsageError(`cache takes "ls" or "clear"${action ? `, not "${[action, ...extra].join(' ')}"` : ''}`);
  }
  const cache = new DownloadCache(defaultCacheDir(env));
  if (action === 'clear') {
    const { removed, bytes } = await cache.clear();
    io.stdout.write(`Removed ${removed} cached image${removed === 1 ? '' : 's'} (${formatBytes(bytes)}) from ${cache.dir}\n`);
    return 0;
  }
  const entries = await cache.list();
  if (parsed.values.json) {
    io.stdout.write(`${JSON.stringify({ dir: cache.dir, entries }, null, 2)}\n`);
    return 0;
  }
  if (entries.length === 0) {
    io.stdout.write(`No cached images in ${cache.dir}\n`);
    return 0;
  }
  for (const e of entries) {
    io.stdout.write(`${formatBytes(e.size).padStart(10)}  ${e.lastUsedAt.slice(0, 19).replace('T', ' ')}  ${e.url}\n`);
    io.stdout.write(`            sha256 ${e.sha256}  ${e.file}\n`);
  }
  const total = entries.reduce((n, e) => n + e.size, 0);
  io.stdout.write(`${entries.length} cached image${entries.length === 1 ? '' : 's'}, ${formatBytes(total)} in ${cache.dir}\n`);
  return 0;
}
