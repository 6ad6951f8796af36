import { build } from 'esbuild';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// A sandboxed preload can only require('electron') (and a few polyfilled built-ins): bundle it the way
// scripts/build.mjs does and check that nothing else is left to require at run time.
describe('preload bundle', () => {
  it('requires nothing but electron and never exposes ipcRenderer itself', async () => {
    const result = await build({
      absWorkingDir: join(__dirname, '..', '..'),
      entryPoints: ['src/main/app/preload.ts'],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      packages: 'external',
      external: ['electron'],
      write: false,
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]!.text;
    const required = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect([...new Set(required)]).toEqual(['electron']);
    expect(code).toMatch(/exposeInMainWorld\)?\(\s*"sureflash"/);
    expect(code).not.toMatch(/exposeInMainWorld\)?\([^)]*ipcRenderer\s*\)/);
  });
});
