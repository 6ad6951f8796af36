/**
 * Credentials from a netrc file (NETRC, else ~/.netrc), as curl and wget read it: `machine HOST login USER
 * password PASS` entries (any whitespace, one or several lines), a `default` entry, `macdef` blocks skipped.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface NetrcEntry {
  /** Host name, or null for the `default` entry. */
  machine: string | null;
  login: string;
  password: string;
}

/** Parses netrc text into its entries (later tokens of an entry win; unknown tokens are ignored). */
export function parseNetrc(text: string): NetrcEntry[] {
  const entries: NetrcEntry[] = [];
  const lines = text.split(/\r?\n/);
  const tokens: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^\s*#/.test(line)) continue;
    const words = line.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
    for (const word of words) tokens.push(word.startsWith('"') ? word.slice(1, -1).replace(/\\(.)/g, '$1') : word);
    if (words[0] === 'macdef') {
      // A macro runs until an empty line.
      tokens.length -= words.length;
      while (i + 1 < lines.length && (lines[i + 1] ?? '').trim() !== '') i++;
    }
  }
  let current: NetrcEntry | null = null;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const value = tokens[i + 1];
    if (token === 'machine' && value !== undefined) {
      current = { machine: value.toLowerCase(), login: '', password: '' };
      entries.push(current);
      i++;
    } else if (token === 'default') {
      current = { machine: null, login: '', password: '' };
      entries.push(current);
    } else if (current && (token === 'login' || token === 'password') && value !== undefined) {
      current[token] = value;
      i++;
    } else if (current && token === 'account' && value !== undefined) {
      i++;
    }
  }
  return entries;
}

/** Where netrc is read from: NETRC when set, else ~/.netrc. */
export function netrcPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.NETRC && env.NETRC !== '' ? env.NETRC : join(homedir(), '.netrc');
}

/**
 * Login and password for `host` from the netrc file (an exact `machine` entry first, then `default`), or
 * null when there is no file or no entry. A file that cannot be read counts as none.
 */
export function netrcCredentials(host: string, env: NodeJS.ProcessEnv = process.env): { user: string; password: string } | null {
  let text: string;
  try {
    text = readFileSync(netrcPath(env), 'utf8');
  } catch {
    return null;
  }
  const entries = parseNetrc(text);
  const wanted = host.toLowerCase();
  const entry = entries.find((e) => e.machine === wanted) ?? entries.find((e) => e.machine === null);
  return entry && (entry.login !== '' || entry.password !== '') ? { user: entry.login, password: entry.password } : null;
}
