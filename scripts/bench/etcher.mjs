// etcher-sdk for the comparison rows: installed on demand into a folder outside the project (never into
// the project's dependencies) and kept there between runs, keyed by the pinned version.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, have } from './proc.mjs';

export const ETCHER_SDK_VERSION = '10.2.15';

/**
 * Returns the folder holding a working etcher-sdk install, installing it when missing.
 * @param {(msg: string) => void} log
 * @returns {Promise<{ dir: string, version: string }>}
 */
export async function ensureEtcherSdk(log) {
  const dir = join(tmpdir(), 'sureflash-bench-etcher');
  const installed = join(dir, 'node_modules', 'etcher-sdk', 'package.json');
  if (existsSync(installed) && JSON.parse(readFileSync(installed, 'utf8')).version === ETCHER_SDK_VERSION) {
    return { dir, version: ETCHER_SDK_VERSION };
  }
  log(`etcher-sdk ${ETCHER_SDK_VERSION}: installing into ${dir} (outside the project)`);
  mkdirSync(dir, { recursive: true });
  const pkg = {
    name: 'sureflash-bench-etcher',
    private: true,
    description: 'etcher-sdk installed by the Sureflash benchmark, outside the project',
    dependencies: { 'etcher-sdk': ETCHER_SDK_VERSION },
    // etcher-sdk pins unbzip2-stream to a git commit; the registry release is what can be fetched here.
    overrides: { 'unbzip2-stream': '1.4.3' },
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  const npmArgs = ['install', '--no-audit', '--no-fund', '--no-package-lock'];
  // Serialised with the other npm users of this machine when flock is there.
  if (have('flock')) await run('flock', [join(tmpdir(), 'npm.lock'), 'npm', ...npmArgs], { cwd: dir });
  else await run('npm', npmArgs, { cwd: dir });
  // A load check: native parts that failed to build show up here rather than mid-benchmark.
  await run(process.execPath, ['-e', "require('etcher-sdk')"], { cwd: dir });
  return { dir, version: ETCHER_SDK_VERSION };
}

/** Path of the flashing script run under /usr/bin/time. */
export const ETCHER_FLASH_SCRIPT = fileURLToPath(new URL('./etcher-flash.cjs', import.meta.url));
