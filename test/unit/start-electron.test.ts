import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

// `npm start` runs scripts/start-electron.mjs. Electron's binary cannot exist on this machine, so the
// script runs from a copy of the checkout's layout (scripts/ + package.json + node_modules/electron) whose
// electron package is the only stand-in: its install.js fails as the real one does offline, or "installs" a
// tiny executable in its place.
const script = join(__dirname, '..', '..', 'scripts', 'start-electron.mjs');
const WEB_LINE = 'npm run web -- --allow-loop --pick /path/to/os.img.xz';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A project folder with the real script and, unless `installer` is null, an electron package without its binary. */
function project(installer: string | null): string {
  const root = mkdtempSync(join(tmpdir(), 'sureflash-start-'));
  dirs.push(root);
  mkdirSync(join(root, 'scripts'));
  copyFileSync(script, join(root, 'scripts', 'start-electron.mjs'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'app', version: '0.0.0' }));
  if (installer !== null) {
    const electron = join(root, 'node_modules', 'electron');
    mkdirSync(electron, { recursive: true });
    writeFileSync(join(electron, 'package.json'), JSON.stringify({ name: 'electron', version: '0.0.0' }));
    writeFileSync(join(electron, 'install.js'), installer);
  }
  return root;
}

function start(root: string) {
  return spawnSync(process.execPath, [join(root, 'scripts', 'start-electron.mjs'), '--flag'], { encoding: 'utf8', timeout: 60_000 });
}

/** The paragraph every failure ends with: what failed, then the exact browser-host line on its own. */
function expectOneParagraph(stderr: string, failed: RegExp): void {
  expect(stderr).toMatch(failed);
  expect(stderr).toContain(`\n\n    ${WEB_LINE}\n\n`);
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toMatch(/\.m?js:\d+/);
}

describe('npm start (scripts/start-electron.mjs)', () => {
  it('without the binary and with a download that fails: one paragraph with the reason and the web line, no stack trace', () => {
    const root = project(
      [
        "const err = new Error('getaddrinfo ENOTFOUND github.com');",
        "err.name = 'RequestError';",
        'console.error(err.stack);',
        'process.exit(1);',
      ].join('\n'),
    );
    const result = start(root);
    expect(result.status).toBe(1);
    expectOneParagraph(result.stderr, /download failed \(RequestError: getaddrinfo ENOTFOUND github\.com\), so the desktop app cannot start here/);
  });

  it('without the electron package: says so and gives the web line', () => {
    const result = start(project(null));
    expect(result.status).toBe(1);
    expectOneParagraph(result.stderr, /the electron package is not installed \(run `npm install` first\)/);
  });

  it('with a download that works: starts the binary on the project folder with the arguments given', () => {
    const root = project(
      [
        "const { chmodSync, mkdirSync, writeFileSync } = require('node:fs');",
        "mkdirSync(__dirname + '/dist');",
        "writeFileSync(__dirname + '/path.txt', 'electron');",
        "writeFileSync(__dirname + '/dist/electron', '#!/bin/sh\\necho \"$PWD $*\" > started.txt\\n');",
        "chmodSync(__dirname + '/dist/electron', 0o755);",
      ].join('\n'),
    );
    const result = start(root);
    expect(result.stderr).not.toMatch(/cannot start/);
    expect(result.status).toBe(0);
    expect(readFileSync(join(root, 'started.txt'), 'utf8').trim()).toBe(`${root} . --flag`);
  });

  it('with a binary that cannot be executed: one paragraph, not an unhandled error', () => {
    const root = project('');
    const electron = join(root, 'node_modules', 'electron');
    mkdirSync(join(electron, 'dist'));
    writeFileSync(join(electron, 'path.txt'), 'electron');
    writeFileSync(join(electron, 'dist', 'electron'), 'not a program');
    chmodSync(join(electron, 'dist', 'electron'), 0o644);
    const result = start(root);
    expect(result.status).toBe(1);
    expectOneParagraph(result.stderr, /Electron's binary could not be started \(spawn \S+ EACCES\)/);
  });
});
