import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import semver from 'semver';
import { afterEach, describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');
const requireHere = createRequire(join(root, 'package.json'));
// electron-builder's own YAML reader (js-yaml), so the file is read the way `npm run dist` reads it.
const { load } = requireHere('js-yaml') as { load(text: string): unknown };

interface LockPackage {
  version?: string;
  engines?: { node?: string } | string[];
  dev?: boolean;
  optional?: boolean;
}

describe('Node version: package.json engines and every installed package agree', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> };
  // The lowest release of each line the project promises (e.g. 20.19.0, 22.13.0, 24.0.0).
  const promised = pkg.engines.node.split('||').map((part) => semver.minVersion(part.trim())!.version);

  it('names Node lines that exist and includes the Node running this test', () => {
    expect(promised.length).toBeGreaterThan(0);
    expect(semver.satisfies(process.version, pkg.engines.node)).toBe(true);
  });

  it('installs no package whose engines refuse the lowest Node version of each promised line (npm prints EBADENGINE)', () => {
    const refused: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = entry.engines && !Array.isArray(entry.engines) ? entry.engines.node : undefined;
      if (!path || !range) continue;
      for (const version of promised) {
        if (!semver.satisfies(version, range)) refused.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version} wants node ${range}, not ${version}`);
      }
    }
    expect(refused).toEqual([]);
  });
});

describe('electron-builder.yml (npm run dist)', () => {
  it('is valid for the installed electron-builder', async () => {
    const { validateConfiguration } = requireHere('app-builder-lib/out/util/config/config') as {
      validateConfiguration(config: unknown, logger: unknown): Promise<void>;
    };
    const { DebugLogger } = requireHere('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
    const config = load(readFileSync(join(root, 'electron-builder.yml'), 'utf8'));
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
  });

  it('names an afterPack hook that exists', () => {
    const config = load(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as { afterPack?: string };
    expect(config.afterPack).toBe('scripts/after-pack.cjs');
    expect(typeof (requireHere(join(root, config.afterPack!)) as { default: unknown }).default).toBe('function');
  });
});

describe('afterPack hook: Electron fuses', () => {
  const hook = requireHere(join(root, 'scripts', 'after-pack.cjs')) as {
    default(context: unknown): Promise<void>;
    electronBinaryPath(context: unknown): string;
  };
  // The fuse wire as Electron's binaries carry it: a sentinel, version 1, the wire length, one byte per fuse.
  const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
  const FUSE_COUNT = 8;
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const context = (appOutDir: string, electronPlatformName: string) => ({
    appOutDir,
    electronPlatformName,
    arch: 1,
    packager: { appInfo: { productFilename: 'Sureflash' }, executableName: 'sureflash' },
  });

  it('finds the executable on each platform', () => {
    expect(hook.electronBinaryPath(context('/out', 'linux'))).toBe(join('/out', 'sureflash'));
    expect(hook.electronBinaryPath(context('/out', 'win32'))).toBe(join('/out', 'Sureflash.exe'));
    expect(hook.electronBinaryPath(context('/out', 'darwin'))).toBe(join('/out', 'Sureflash.app'));
  });

  it('turns inspect arguments off, keeps RunAsNode (the helper) on and loads the app only from app.asar', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sureflash-fuses-'));
    dirs.push(dir);
    const binary = join(dir, 'sureflash');
    // Start from the opposite of what the hook sets, so each of its three fuses must change.
    const before = '00010000';
    writeFileSync(binary, Buffer.concat([Buffer.from('ELF...'), Buffer.from(SENTINEL), Buffer.from([1, FUSE_COUNT]), Buffer.from(before), Buffer.from('...')]));
    await hook.default(context(dir, 'linux'));
    const after = readFileSync(binary);
    const start = after.indexOf(SENTINEL) + SENTINEL.length + 2;
    // Index: 0 RunAsNode, 1 cookie encryption, 2 NODE_OPTIONS, 3 inspect arguments, 4 asar integrity,
    // 5 only load from asar, 6 browser V8 snapshot, 7 file:// privileges. The others are left as they were.
    expect(after.subarray(start, start + FUSE_COUNT).toString('latin1')).toBe('10000100');
  });
});
