import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

// A better-sqlite3 built for another runtime (Electron's ABI) cannot exist on this machine, so the one fake
// is its constructor failing the way Node's loader fails for such a module.
vi.mock('better-sqlite3', () => ({
  default: class {
    constructor() {
      throw new Error(
        "The module '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 140. This version of Node.js requires\nNODE_MODULE_VERSION 115.",
      );
    }
  },
}));

const { openHistory } = await import('../../src/main/history/history-store');
const dir = mkdtempSync(join(tmpdir(), 'sureflash-binding-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('history store when the SQLite module does not load', () => {
  it('is HISTORY_UNAVAILABLE and names the command that rebuilds it', () => {
    expect(() => openHistory(join(dir, 'history.sqlite'))).toThrow(
      expect.objectContaining({ code: 'HISTORY_UNAVAILABLE', message: expect.stringMatching(/better-sqlite3.*does not load.*npm rebuild better-sqlite3/) }),
    );
  });
});
