// Starts the app with the Electron binary from node_modules/electron (`npm start` builds first).
// Electron's install script is not run by `npm install` (package.json allowScripts), so the binary may be
// missing: then its installer is tried once, quietly, and if that fails this prints one paragraph (what
// failed, and the browser-host command that serves the same app) and exits 1 — never a stack trace.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

/** What to run instead when the desktop app cannot start here; README "Browser host" explains it. */
const WEB_COMMAND = 'npm run web -- --allow-loop --pick /path/to/os.img.xz';

/** @returns {string | null} the installed electron package's folder, or null when it is not installed */
function electronDir() {
  try {
    return dirname(require.resolve('electron/package.json'));
  } catch {
    return null;
  }
}

/**
 * The binary's path, or null when it is not there (never triggers a download by itself).
 * @param {string} dir the electron package's folder
 * @returns {string | null}
 */
function electronBinary(dir) {
  const pathFile = join(dir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}

/**
 * The installer's own words for why it failed: its first error line (e.g. "RequestError: getaddrinfo
 * ENOTFOUND github.com"), without the stack trace under it.
 * @param {import('node:child_process').SpawnSyncReturns<string>} result
 * @returns {string}
 */
function installerReason(result) {
  if (result.error) return result.error.message;
  const lines = `${result.stderr ?? ''}\n${result.stdout ?? ''}`.split('\n').map((line) => line.trim());
  const said = lines.find((line) => /^[A-Za-z]*Error\b/.test(line)) ?? lines.find((line) => line !== '' && !line.startsWith('at '));
  if (said) return said.slice(0, 200);
  return result.status !== null ? `the installer exited with status ${result.status}` : `the installer was stopped by ${result.signal}`;
}

/**
 * Prints the one paragraph and exits 1.
 * @param {string} what what failed, as the start of a sentence
 * @returns {never}
 */
function fail(what) {
  process.stderr.write(
    `npm start: ${what}, so the desktop app cannot start here. The same app runs in a browser, backed by the ` +
      `same services (drives, image check, flashing); run\n\n    ${WEB_COMMAND}\n\nwith your image instead of ` +
      `/path/to/os.img.xz and open the address it prints (--allow-loop lists loop devices as drives, --pick ` +
      `answers "Select image"; see "Browser host" in README.md).\n`,
  );
  process.exit(1);
}

const dir = electronDir();
if (!dir) fail('the electron package is not installed (run `npm install` first)');
let binary = electronBinary(dir);
if (!binary) {
  process.stderr.write("npm start: Electron's binary is not installed yet; downloading it once...\n");
  const install = spawnSync(process.execPath, [join(dir, 'install.js')], { encoding: 'utf8', timeout: 300_000 });
  binary = electronBinary(dir);
  if (!binary) fail(`Electron's binary is missing and its download failed (${installerReason(install)})`);
}

const env = { ...process.env };
delete env.ELECTRON_RUN_AS_NODE;
const child = spawn(binary, ['.', ...process.argv.slice(2)], { cwd: root, env, stdio: 'inherit' });
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(signal, () => child.kill(signal));
child.on('error', (err) => fail(`Electron's binary could not be started (${err.message})`));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
