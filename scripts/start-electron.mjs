// Starts the app with the Electron binary from node_modules/electron (`npm start` builds first).
// npm 11 does not run electron's install script unless approved, so the binary may be missing: then its
// installer is tried once, and otherwise this exits non-zero with a message that says what to do instead.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

function electronDir() {
  try {
    return dirname(require.resolve('electron/package.json'));
  } catch {
    return null;
  }
}

/** The binary's path, or null when it is not there (never triggers a download by itself). */
function electronBinary(dir) {
  const pathFile = join(dir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}

function fail(reason) {
  process.stderr.write(
    `Electron's binary could not be downloaded (${reason}); \`npm run web\` serves the same UI in a browser.\n`,
  );
  process.exit(1);
}

const dir = electronDir();
if (!dir) fail('the electron package is not installed');
let binary = electronBinary(dir);
if (!binary) {
  process.stderr.write("Electron's binary is missing; trying its installer once...\n");
  const install = spawnSync(process.execPath, [join(dir, 'install.js')], { stdio: 'inherit', timeout: 300_000 });
  binary = electronBinary(dir);
  if (!binary) fail(install.error ? install.error.message : `the installer exited with ${install.status ?? install.signal}`);
}

const env = { ...process.env };
delete env.ELECTRON_RUN_AS_NODE;
const child = spawn(binary, ['.', ...process.argv.slice(2)], { cwd: root, env, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('error', (err) => fail(err.message));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
