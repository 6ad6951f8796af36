import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// What runs as root: the helper bundled the way scripts/build.mjs bundles dist/main/helper.cjs (every
// package inlined), inspected for what it requires and what code it carries.
const root = join(__dirname, '..', '..');

async function helperBundle(): Promise<{ code: string; inputs: string[] }> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['src/main/privilege/helper-entry.ts'],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) };
}

describe('the privileged helper bundle', () => {
  it('requires only the Node built-ins it needs for files and one socket: no child_process, no worker, no package', async () => {
    const { code } = await helperBundle();
    const required = [...new Set([...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]))].sort();
    expect(required).toEqual(['node:fs', 'node:fs/promises', 'node:net', 'node:path']);
    expect(code).not.toMatch(/child_process|worker_threads|\bexecFile\b|\bspawn\(/);
    expect(code).not.toMatch(/process\.env\.SUREFLASH/);
  });

  it('carries no decoder, no archive reader, no bmap parser, no engine beyond the device executor', async () => {
    const { code, inputs } = await helperBundle();
    const packageOf = (f: string): string | null => /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1] ?? null;
    const fromPackages = [...new Set(inputs.map(packageOf).filter((p) => p !== null))];
    expect(fromPackages).toEqual(['zod']);
    const engine = inputs.filter((f) => f.startsWith('src/main/engine/')).sort();
    expect(engine).toEqual([
      'src/main/engine/device/device-executor.ts',
      'src/main/engine/device/device-pin.ts',
      'src/main/engine/device/device-wire.ts',
      'src/main/engine/errors.ts',
    ]);
    for (const word of ['zlib', 'zstd', 'xz-decompress', 'unbzip2', 'bzip2', 'yauzl', 'tar-archive', 'bmap-parser', 'parseBmap', 'createGunzip', 'openSource']) {
      expect(code, word).not.toContain(word);
    }
  });

  it('is what dist/main/helper.cjs holds (build first: node scripts/build.mjs)', async () => {
    const built = join(root, 'dist', 'main', 'helper.cjs');
    if (!existsSync(built)) throw new Error('dist/main/helper.cjs is missing: run `node scripts/build.mjs` first');
    const code = readFileSync(built, 'utf8');
    const required = [...new Set([...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]))].sort();
    expect(required).toEqual(['node:fs', 'node:fs/promises', 'node:net', 'node:path']);
    for (const word of ['child_process', 'worker_threads', 'zlib', 'zstd', 'xz-decompress', 'bzip2', 'yauzl', 'bmap-parser', 'parseBmap', 'SUREFLASH_']) {
      expect(code, word).not.toContain(word);
    }
  });
});
