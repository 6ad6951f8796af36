import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const cache = new Map<string, string | null>();

/** Absolute path of an executable found on PATH, or null. Looked up once per name (no process spawned). */
export function findProgram(name: string): string | null {
  const known = cache.get(name);
  if (known !== undefined) return known;
  let found: string | null = null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) {
        found = candidate;
        break;
      }
    } catch {
      // not here
    }
  }
  cache.set(name, found);
  return found;
}
