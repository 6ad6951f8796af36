// Builds every bundle the app, CLI, helper, worker and browser host run. Entries that do not exist yet
// are skipped, so the build stays usable while the tree grows.
import { build } from 'esbuild';
import { existsSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'main');
mkdirSync(out, { recursive: true });

const entries = {
  cli: 'src/main/cli/cli-entry.ts',
  'engine-worker': 'src/main/engine/worker-entry.ts',
  'device-thread': 'src/main/engine/device/device-thread.ts',
  'probe-worker': 'src/main/engine/probe-worker.ts',
  host: 'src/main/host/host-entry.ts',
  app: 'src/main/app/main.ts',
  preload: 'src/main/app/preload.ts',
};

const present = Object.fromEntries(Object.entries(entries).filter(([, file]) => existsSync(join(root, file))));
await build({
  absWorkingDir: root,
  entryPoints: present,
  outdir: out,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  external: ['electron'],
  // A lazy `await import('pkg')` becomes a require() in the bundle, as a static import would: Node's ESM
  // loader would refuse CommonJS subpaths such as 'zstd-napi/binding' (no extension, no exports map).
  supported: { 'dynamic-import': false },
  sourcemap: true,
  logLevel: 'warning',
});

// The privileged helper is one self-contained file: zod (its only package) is bundled in, so as root it
// loads nothing from node_modules and requires only Node built-ins (test/unit/helper-bundle.test.ts).
const helperEntry = 'src/main/privilege/helper-entry.ts';
if (existsSync(join(root, helperEntry))) {
  await build({
    absWorkingDir: root,
    entryPoints: { helper: helperEntry },
    outdir: out,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
}

if (existsSync(join(root, 'src/renderer/index.html'))) {
  const vite = spawnSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
    cwd: root,
    stdio: 'inherit',
    // Always React's production bundle, whoever runs the build (vitest sets NODE_ENV=test).
    // vite.config.mts imports the CSP from src/shared (TypeScript); the default 'bundle' config loader reads
    // it, and Vite's notice about its future 'native' loader does not apply to this build.
    env: { ...process.env, NODE_ENV: 'production', VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' },
  });
  if (vite.status !== 0) process.exit(vite.status ?? 1);
}
