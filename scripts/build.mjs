// Builds every bundle the app, CLI, helper, worker and browser host run. Entries that do not exist yet
// are skipped, so the build stays usable while the tree grows.
import { build } from 'esbuild';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
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
/** What every Node bundle shares: CommonJS files for Node 20 in dist/main, with source maps. */
const nodeBundle = {
  absWorkingDir: root,
  outdir: out,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: /** @type {const} */ ('node'),
  format: /** @type {const} */ ('cjs'),
  target: 'node20',
  sourcemap: true,
  logLevel: /** @type {const} */ ('warning'),
};

await build({
  ...nodeBundle,
  entryPoints: present,
  packages: 'external',
  external: ['electron'],
  // A lazy `await import('pkg')` becomes a require() in the bundle, as a static import would: Node's ESM
  // loader would refuse CommonJS subpaths such as 'zstd-napi/binding' (no extension, no exports map).
  supported: { 'dynamic-import': false },
});

// The privileged helper is one self-contained file: zod (its only package) is bundled in, so as root it
// loads nothing from node_modules and requires only Node built-ins (test/unit/helper-bundle.test.ts).
const helperEntry = 'src/main/privilege/helper-entry.ts';
if (existsSync(join(root, helperEntry))) {
  await build({
    ...nodeBundle,
    entryPoints: { helper: helperEntry },
    // Minified: the helper starts once per flash under the password prompt, and zod is most of it (0.8 MB).
    minify: true,
  });
}

// The native module (src/main/native/sureflash-io.c: many O_DIRECT writes in flight, and the descriptor
// hand-over from the privileged helper). Node-API only, so one build loads in Node and in Electron. Built with
// the system's C compiler against Node's own headers; without a compiler or headers everything still works,
// only slower (the build says so).
buildNative();

function buildNative() {
  const source = join(root, 'src/main/native/sureflash-io.c');
  const target = join(out, 'sureflash-io.node');
  if (!existsSync(source)) return;
  if (process.platform !== 'linux') return void rmSync(target, { force: true });
  if (existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs) return;
  const headers = [
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
    join(dirname(process.execPath), '..', 'include', 'node'),
  ].find((dir) => dir && existsSync(join(dir, 'node_api.h')));
  const why = headers ? compile(source, target, headers) : "Node's headers (node_api.h) were not found next to node or in npm's nodedir";
  if (why) {
    rmSync(target, { force: true });
    process.stderr.write(`build: the native module was not built (${why}); Sureflash works without it, but writes bmaps of many small ranges more slowly and the administrator helper copies every byte once more\n`);
  }
}

/** Compiles the module; returns why not, or null. */
function compile(source, target, headers) {
  const cc = process.env.CC || 'cc';
  const args = ['-O2', '-Wall', '-Wextra', '-Werror', '-std=gnu11', '-fPIC', '-shared', '-fvisibility=hidden', '-DNAPI_VERSION=8', `-I${headers}`, '-o', `${target}.tmp`, source];
  const run = spawnSync(cc, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.error) return `${cc}: ${run.error.message}`;
  if (run.status !== 0) return `${cc} exited with ${run.status}`;
  renameSync(`${target}.tmp`, target);
  return null;
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
