import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint, type Linter } from 'eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Each house rule of eslint.config.mjs, run through ESLint's Node API with the project's real config, on a
// deliberately wrong import — and the real tree, which must be clean. Probes are linted as text at a path
// inside src/ (the rules resolve imports from there); only the cycle needs files on disk.
const root = join(__dirname, '..', '..');
const HOUSE_RULES = new Set(['house/layers', 'house/no-cycle', 'house/helper-imports', 'no-restricted-imports']);
let eslint: ESLint;

beforeAll(async () => {
  eslint = new ESLint({ cwd: root, ruleFilter: ({ ruleId }) => HOUSE_RULES.has(ruleId) });
  // Loads the config, the parser and TypeScript once, so no single test below pays for it.
  await eslint.lintText('export {};\n', { filePath: join(root, 'src/shared/lint-probe.ts') });
}, 60_000);

/** The house-rule messages for `text` linted as if it were the file at `path` (relative to the root). */
async function lint(path: string, text: string): Promise<Linter.LintMessage[]> {
  const [result] = await eslint.lintText(text, { filePath: join(root, path) });
  return result!.messages.filter((m) => m.ruleId !== null && HOUSE_RULES.has(m.ruleId));
}

/** Expects exactly the given rule to fire, on line `line`, with a message matching `message`. */
async function expectRefused(path: string, text: string, ruleId: string, message: RegExp, line = 1): Promise<void> {
  const messages = await lint(path, text);
  expect(messages.map((m) => ({ ruleId: m.ruleId, line: m.line }))).toContainEqual({ ruleId, line });
  expect(messages.find((m) => m.ruleId === ruleId)?.message).toMatch(message);
}

const use = (...names: string[]) => `\nexport const used = [${names.join(', ')}];\n`;

describe('house/layers: each room imports only the rooms below it', () => {
  const engineMustNotImport = [
    ['services', "import type { MainServices } from '../services/types';"],
    ['api', "import { createApiCore } from '../api/api-core';"],
    ['ipc', "import { registerApi } from '../ipc/register-api';"],
    ['host', "import { runHost } from '../host/run-host';"],
    ['app', "import { createWindow } from '../app/window';"],
    ['cli', "import { parseFlashArgs } from '../cli/flash-args';"],
    ['privilege', "import { launchHelper } from '../privilege/run-elevated';"],
    ['drives', "import { listDrives } from '../drives';"],
  ] as const;

  it.each(engineMustNotImport)('the engine importing %s is refused', async (name, line) => {
    await expectRefused('src/main/engine/lint-probe.ts', `${line}${use('0')}`, 'house/layers', new RegExp(`imports src/main/${name}\\b.*The engine imports only`));
  });

  it('the engine importing electron is refused, and so is a re-export or a dynamic import() of services', async () => {
    await expectRefused('src/main/engine/lint-probe.ts', "import { app } from 'electron';" + use('app'), 'house/layers', /imports electron: The engine/);
    await expectRefused('src/main/engine/lint-probe.ts', "export type { DriveService } from '../services/types';", 'house/layers', /services\/types\.ts/);
    await expectRefused('src/main/engine/lint-probe.ts', "export const load = () => import('../services/main-services');", 'house/layers', /services\/main-services\.ts/);
  });

  it('the engine may import src/shared, src/main/system and itself', async () => {
    const text = "import { formatBytes } from '../../shared/format';\nimport { whereMounted } from '../system/where-mounted';\nimport { EngineError } from './errors';" + use('formatBytes', 'whereMounted', 'EngineError');
    expect(await lint('src/main/engine/lint-probe.ts', text)).toEqual([]);
  });

  it('services and the Api core import no electron', async () => {
    await expectRefused('src/main/services/lint-probe.ts', "import { dialog } from 'electron';" + use('dialog'), 'house/layers', /Services .* without Electron/);
    await expectRefused('src/main/api/lint-probe.ts', "import { ipcMain } from 'electron';" + use('ipcMain'), 'house/layers', /Services .* without Electron/);
  });

  it('drives imports no services (the arrow that used to run back up)', async () => {
    await expectRefused('src/main/drives/lint-probe.ts', "import type { DriveService } from '../services/types';" + use('0'), 'house/layers', /drives is below services/);
  });

  it('the CLI imports no app, ipc or host', async () => {
    for (const line of ["import { createWindow } from '../app/window';", "import { registerApi } from '../ipc/register-api';", "import { runHost } from '../host/run-host';"]) {
      await expectRefused('src/main/cli/lint-probe.ts', line + use('0'), 'house/layers', /The CLI stands beside/);
    }
  });

  it('privilege imports no drives, services or transports; the browser host no Electron shell', async () => {
    await expectRefused('src/main/privilege/lint-probe.ts', "import { listDrives } from '../drives/list-drives';" + use('listDrives'), 'house/layers', /privilege stands beside drives/);
    await expectRefused('src/main/privilege/lint-probe.ts', "import { createMainServices } from '../services/main-services';" + use('createMainServices'), 'house/layers', /privilege stands beside drives/);
    await expectRefused('src/main/host/lint-probe.ts', "import { createWindow } from '../app/window';" + use('createWindow'), 'house/layers', /The browser host runs without Electron/);
    await expectRefused('src/main/host/lint-probe.ts', "import { BrowserWindow } from 'electron';" + use('BrowserWindow'), 'house/layers', /The browser host runs without Electron/);
  });

  it('history stands on shared and system only; the station imports no services, CLI or privilege', async () => {
    await expectRefused('src/main/history/lint-probe.ts', "import { listDrives } from '../drives/list-drives';" + use('listDrives'), 'house/layers', /history stands on src\/shared/);
    await expectRefused('src/main/history/lint-probe.ts', "import type { StationService } from '../station/types';" + use('0'), 'house/layers', /history stands on src\/shared/);
    await expectRefused('src/main/station/lint-probe.ts', "import { createFlashService } from '../services/flash-service';" + use('createFlashService'), 'house/layers', /The station stands on the engine/);
    await expectRefused('src/main/station/lint-probe.ts', "import { runElevated } from '../privilege/run-elevated';" + use('runElevated'), 'house/layers', /The station stands on the engine/);
    await expectRefused('src/main/station/lint-probe.ts', "import { parseFlashArgs } from '../cli/flash-args';" + use('parseFlashArgs'), 'house/layers', /The station stands on the engine/);
    await expectRefused('src/main/drives/lint-probe.ts', "import type { StationService } from '../station/types';" + use('0'), 'house/layers', /drives is below services/);
    const text = "import { createFlashHistory } from '../history/flash-recorder';\nimport { listDrives } from '../drives/list-drives';\nimport { EngineError } from '../engine/errors';" + use('createFlashHistory', 'listDrives', 'EngineError');
    expect(await lint('src/main/station/lint-probe.ts', text)).toEqual([]);
  });

  it('src/main/system imports Node built-ins and itself only', async () => {
    await expectRefused('src/main/system/lint-probe.ts', "import { EngineError } from '../engine/errors';" + use('EngineError'), 'house/layers', /ground floor/);
    await expectRefused('src/main/system/lint-probe.ts', "import { z } from 'zod';" + use('z'), 'house/layers', /imports zod: src\/main\/system is the ground floor/);
    expect(await lint('src/main/system/lint-probe.ts', "import { readFile } from 'node:fs/promises';\nimport { parseMountinfo } from './mountinfo';" + use('readFile', 'parseMountinfo'))).toEqual([]);
  });

  it('src/shared stays pure, main and the renderer never import each other', async () => {
    const shared = await lint('src/shared/lint-probe.ts', "import { readFileSync } from 'node:fs';" + use('readFileSync'));
    expect(shared.map((m) => m.ruleId).sort()).toEqual(['house/layers', 'no-restricted-imports']);
    await expectRefused('src/renderer/lint-probe.ts', "import { listDrives } from '../main/drives/list-drives';" + use('listDrives'), 'house/layers', /The renderer talks only to window\.sureflash/);
    await expectRefused('src/main/app/lint-probe.ts', "import { App } from '../../renderer/components/app';" + use('App'), 'house/layers', /main never imports the renderer/);
  });
});

describe('house/helper-imports: the privileged helper reaches only what it serves', () => {
  const entry = 'src/main/privilege/helper-entry.ts';
  const entryText = readFileSync(join(root, entry), 'utf8');

  it('the helper as it is passes', async () => {
    expect(await lint(entry, entryText)).toEqual([]);
  });

  it.each([
    ['the bmap parser', "import { parseBmap } from '../engine/bmap-parser';", /imports src\/main\/engine\/bmap-parser\.ts: The privileged helper runs as root/],
    ['a decoder', "import { openSource } from '../engine/source/open-source';", /imports src\/main\/engine\/source\/open-source\.ts/],
    ['child_process', "import { spawn } from 'node:child_process';", /imports node:child_process/],
    ['drivelist', "import drivelist from 'drivelist';", /imports drivelist/],
    ['the drives room', "import { mountedPaths } from '../drives/unmount';", /imports src\/main\/drives\/unmount\.ts/],
  ])('the helper entry importing %s is refused', async (_what, line, message) => {
    await expectRefused(entry, `${line}\nexport const probe = 0;\n${entryText}`, 'house/helper-imports', message);
  });

  it('so is a file the helper reaches (helper-device.ts) importing child_process, while main-side privilege code may', async () => {
    const target = 'src/main/privilege/helper-device.ts';
    const line = "import { execFile } from 'node:child_process';\nexport const probe = execFile;\n";
    await expectRefused(target, line + readFileSync(join(root, target), 'utf8'), 'house/helper-imports', /helper-device\.ts \(reached from src\/main\/privilege\/helper-entry\.ts\) imports node:child_process/);
    const launcher = 'src/main/privilege/run-elevated.ts';
    expect(await lint(launcher, line + readFileSync(join(root, launcher), 'utf8'))).toEqual([]);
  });

  it('the helper may not reach the engine worker, worker threads, or the engine beyond its device I/O', async () => {
    for (const [line, message] of [
      ["import { startEngineJob } from '../engine/worker-client';", /imports src\/main\/engine\/worker-client\.ts/],
      ["import { Worker } from 'node:worker_threads';", /imports node:worker_threads/],
      ["import { openTarget } from '../engine/device/open-target';", /imports src\/main\/engine\/device\/open-target\.ts/],
      ["import type { FlashJob } from '../engine/protocol';", /imports src\/main\/engine\/protocol\.ts/],
    ] as const) {
      await expectRefused(entry, `${line}\nexport const probe = 0;\n${entryText}`, 'house/helper-imports', message);
    }
  });
});

describe('house/no-cycle', () => {
  const tag = `lint-probe-${process.pid}-${randomBytes(3).toString('hex')}`;
  const files = ['a', 'b', 'c'].map((n) => `src/main/engine/${tag}-${n}.ts`);
  afterAll(() => {
    for (const file of files) rmSync(join(root, file), { force: true });
  });

  it('refuses a two-file cycle and a three-file one closed by a type-only import', async () => {
    const [a, b, c] = files as [string, string, string];
    const name = (file: string) => `./${file.split('/').pop()!.replace(/\.ts$/, '')}`;
    writeFileSync(join(root, b), `import { a } from '${name(a)}';\nexport const b = () => a;\n`);
    const textA = `import { b } from '${name(b)}';\nexport const a = 1;\nexport const useB = b;\n`;
    writeFileSync(join(root, a), textA);
    await expectRefused(a, textA, 'house/no-cycle', new RegExp(`Import cycle: ${a} → ${b} → ${a}`));

    writeFileSync(join(root, b), `import { c } from '${name(c)}';\nexport const b = c;\n`);
    writeFileSync(join(root, c), `import type { a } from '${name(a)}';\nexport const c = 2 as unknown as typeof a;\n`);
    await expectRefused(a, textA, 'house/no-cycle', new RegExp(`Import cycle: ${a} → ${b} → ${c} → ${a}`));

    writeFileSync(join(root, c), 'export const c = 2;\n');
    expect(await lint(a, textA)).toEqual([]);
  });
});

describe('the real tree', () => {
  it('breaks none of the house rules', async () => {
    const results = await eslint.lintFiles(['src']);
    const problems = results.flatMap((r) => r.messages.map((m) => `${r.filePath.slice(root.length + 1)}:${m.line} ${m.ruleId}: ${m.message}`));
    expect(problems).toEqual([]);
    expect(results.length).toBeGreaterThan(50);
  }, 120_000);
});
