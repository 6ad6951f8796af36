/**
 * The bad-input corpus: every folder under test/fixtures/bad-input is one case, described by its case.json
 * (see test/fixtures/bad-input/README.md) plus any small files it needs; large inputs are built by the
 * `prepare` steps below. Each case runs the real CLI and checks the exit code, the message on stderr, the
 * error code in the --report file, and that the target (pre-filled with 0xFF) is byte for byte untouched
 * wherever a pre-check could have caught the problem. Build first: `node scripts/build.mjs`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isErrorCode } from '../../src/shared/errors';
import { bmaptoolAvailable, bmaptoolCreate, makeSparseImage, resealBmap, STANDARD_LAYOUT, type SparseLayout } from '../helpers/bmap-fixtures';
import { cliBuilt, describeRun, nobodyUser, runCli } from '../helpers/cli';
import { attachLoop, type LoopDevice } from '../helpers/loop';
import { isRoot, rootSkipReason } from '../helpers/root';

const exec = promisify(execFile);
const corpus = join(__dirname, '..', 'fixtures', 'bad-input');
const MiB = 1024 * 1024;

/** Named image layouts a case can ask for. "stream": a small first range, then a 3 MiB one (writes happen before a late failure). */
const LAYOUTS: Record<string, SparseLayout> = {
  standard: STANDARD_LAYOUT,
  stream: {
    size: 6 * MiB,
    extents: [
      { offset: 0, length: 64 * 1024, seed: 31 },
      { offset: 1 * MiB, length: 3 * MiB, seed: 32 },
    ],
  },
};

type Step =
  | { op: 'image'; name: string; layout: string }
  | { op: 'bmap'; image: string; out: string }
  | { op: 'edit'; file: string; replace: [string, string][]; reseal?: boolean }
  | { op: 'compress'; file: string; with: 'gzip' | 'bzip2' | 'xz' | 'zstd' }
  | { op: 'zip'; out: string; files: string[] }
  | { op: 'truncate'; file: string; keep?: number; size?: number }
  | { op: 'append'; file: string; bytes: number }
  | { op: 'flip'; file: string; offset: number }
  | { op: 'sparse'; file: string; size: number }
  | { op: 'mkdir'; name: string }
  | { op: 'fifo'; name: string }
  | { op: 'tar'; out: string; files: string[]; with?: 'gzip' | 'bzip2' | 'xz' | 'zstd' }
  | { op: 'pack'; file: string; out: string; with: 'lzop' | 'lz4' | '7z' | 'qcow2' | 'vmdk' }
  | { op: 'chmod'; file: string; mode: string };

type TargetKind = 'file' | 'loop' | 'small-loop' | 'mounted-loop' | 'dir';

/** One case.json. */
interface CaseManifest {
  description: string;
  args: string[];
  expectExit: number;
  expectCode?: string;
  expectMessage: string | string[];
  prepare?: Step[];
  target?: TargetKind;
  targetUntouched?: boolean;
  decoders?: boolean;
  /** A file of the work dir piped to the CLI's standard input (use "-" as the IMAGE). */
  stdin?: string;
  /** Run the CLI as `nobody` when the tests run as root (root would read a chmod 000 file). */
  unprivileged?: boolean;
}

const MANIFEST_KEYS = new Set(['description', 'args', 'expectExit', 'expectCode', 'expectMessage', 'prepare', 'target', 'targetUntouched', 'decoders', 'unprivileged', 'stdin']);
const STEP_OPS = new Set(['image', 'bmap', 'edit', 'compress', 'zip', 'truncate', 'append', 'flip', 'sparse', 'mkdir', 'fifo', 'tar', 'pack', 'chmod']);
const TARGETS = new Set<string>(['file', 'loop', 'small-loop', 'mounted-loop', 'dir']);

/** Reads and checks one case.json, failing loudly on a typo instead of silently testing nothing. */
function loadCase(name: string): CaseManifest {
  const manifest = JSON.parse(readFileSync(join(corpus, name, 'case.json'), 'utf8')) as CaseManifest;
  const problems: string[] = [];
  for (const key of Object.keys(manifest)) if (!MANIFEST_KEYS.has(key)) problems.push(`unknown key "${key}"`);
  if (!Array.isArray(manifest.args) || manifest.args.length === 0) problems.push('args must be a non-empty list');
  if (![1, 2].includes(manifest.expectExit)) problems.push('expectExit must be 1 or 2');
  if (manifest.expectExit === 1 && !isErrorCode(manifest.expectCode)) problems.push(`expectCode "${manifest.expectCode}" is not an error code`);
  if (!manifest.expectMessage || manifest.expectMessage.length === 0) problems.push('expectMessage is required');
  if (manifest.target !== undefined && !TARGETS.has(manifest.target)) problems.push(`unknown target "${manifest.target}"`);
  for (const step of manifest.prepare ?? []) if (!STEP_OPS.has(step.op)) problems.push(`unknown prepare op "${step.op}"`);
  if (problems.length > 0) throw new Error(`bad-input case ${name}: ${problems.join('; ')}`);
  return manifest;
}

const COMPRESSORS: Record<string, { ext: string; run: (file: string) => [string, string[]] }> = {
  gzip: { ext: 'gz', run: (f) => ['gzip', ['-k', '-f', f]] },
  bzip2: { ext: 'bz2', run: (f) => ['bzip2', ['-k', '-f', f]] },
  xz: { ext: 'xz', run: (f) => ['xz', ['-k', '-f', f]] },
  zstd: { ext: 'zst', run: (f) => ['zstd', ['-q', '-k', '-f', f]] },
};

async function runStep(dir: string, step: Step): Promise<void> {
  const at = (name: string): string => join(dir, name);
  switch (step.op) {
    case 'image': {
      const layout = LAYOUTS[step.layout];
      if (!layout) throw new Error(`unknown layout "${step.layout}"`);
      await makeSparseImage(dir, step.name, layout);
      return;
    }
    case 'bmap':
      await bmaptoolCreate(at(step.image), at(step.out));
      return;
    case 'edit': {
      let text = await fsp.readFile(at(step.file), 'utf8');
      for (const [from, to] of step.replace) {
        const pattern = new RegExp(from);
        if (!pattern.test(text)) throw new Error(`edit of ${step.file}: /${from}/ matches nothing`);
        text = text.replace(pattern, to);
      }
      await fsp.writeFile(at(step.file), step.reseal ? resealBmap(text) : text);
      return;
    }
    case 'compress': {
      const compressor = COMPRESSORS[step.with];
      if (!compressor) throw new Error(`unknown compressor "${step.with}"`);
      const [command, args] = compressor.run(at(step.file));
      await exec(command, args);
      return;
    }
    case 'zip':
      await exec('zip', ['-q', '-j', at(step.out), ...step.files.map(at)]);
      return;
    case 'truncate': {
      const size = (await fsp.stat(at(step.file))).size;
      const keep = step.size ?? Math.floor(size * (step.keep ?? 0.5));
      await fsp.truncate(at(step.file), keep);
      return;
    }
    case 'append':
      await fsp.appendFile(at(step.file), Buffer.alloc(step.bytes, 0x5a));
      return;
    case 'flip': {
      const handle = await fsp.open(at(step.file), 'r+');
      try {
        const byte = Buffer.alloc(1);
        await handle.read(byte, 0, 1, step.offset);
        byte[0] = (byte[0] ?? 0) ^ 0xff;
        await handle.write(byte, 0, 1, step.offset);
      } finally {
        await handle.close();
      }
      return;
    }
    case 'sparse': {
      const handle = await fsp.open(at(step.file), 'w');
      await handle.truncate(step.size).finally(() => handle.close());
      return;
    }
    case 'mkdir':
      await fsp.mkdir(at(step.name), { recursive: true });
      return;
    case 'fifo':
      await exec('mkfifo', [at(step.name)]);
      return;
    case 'tar': {
      const flag = { gzip: '-z', bzip2: '-j', xz: '-J', zstd: '--zstd' }[step.with ?? 'gzip'];
      await exec('tar', ['-c', ...(step.with ? [flag] : []), '-f', at(step.out), '-C', dir, ...step.files]);
      return;
    }
    case 'pack': {
      const commands: Record<string, [string, string[]]> = {
        lzop: ['lzop', ['-q', '-o', at(step.out), at(step.file)]],
        lz4: ['lz4', ['-q', at(step.file), at(step.out)]],
        '7z': ['7z', ['a', '-bd', '-bso0', at(step.out), at(step.file)]],
        qcow2: ['qemu-img', ['convert', '-O', 'qcow2', at(step.file), at(step.out)]],
        vmdk: ['qemu-img', ['convert', '-O', 'vmdk', at(step.file), at(step.out)]],
      };
      const [command, args] = commands[step.with]!;
      await exec(command, args);
      return;
    }
    case 'chmod':
      await fsp.chmod(at(step.file), Number.parseInt(step.mode, 8));
      return;
  }
}

/** A target pre-filled with 0xFF, its path for the args, a fingerprint of its bytes, and cleanup. */
interface PreparedTarget {
  path: string;
  fingerprint(): Promise<string>;
  cleanup(): Promise<void>;
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await fsp.readFile(path)).digest('hex');
}

async function filledFile(path: string, size: number): Promise<void> {
  await fsp.writeFile(path, Buffer.alloc(size, 0xff));
}

async function prepareTarget(dir: string, kind: TargetKind): Promise<PreparedTarget> {
  if (kind === 'file') {
    const path = join(dir, 'target.bin');
    await filledFile(path, 2 * MiB);
    return { path, fingerprint: () => sha256(path), cleanup: async () => undefined };
  }
  if (kind === 'dir') {
    const path = join(dir, 'target-dir');
    await fsp.mkdir(path);
    await fsp.writeFile(join(path, 'keep.txt'), 'keep me\n');
    const fingerprint = async (): Promise<string> => {
      const names = (await fsp.readdir(path)).sort();
      const hash = createHash('sha256').update(names.join('\n'));
      for (const name of names) hash.update(await fsp.readFile(join(path, name)));
      return hash.digest('hex');
    };
    return { path, fingerprint, cleanup: async () => undefined };
  }
  const backing = join(dir, 'target-backing.bin');
  await filledFile(backing, kind === 'small-loop' ? 512 * 1024 : 8 * MiB);
  const mountpoint = join(dir, 'target-mnt');
  if (kind === 'mounted-loop') {
    await exec('mkfs.ext4', ['-q', '-F', backing]);
    await fsp.mkdir(mountpoint);
  }
  const loop: LoopDevice = await attachLoop(backing);
  let mounted = false;
  if (kind === 'mounted-loop') {
    // Read-only, so the filesystem itself never writes while the fingerprints are taken.
    await exec('mount', ['-o', 'ro', loop.device, mountpoint]);
    mounted = true;
  }
  return {
    path: loop.device,
    fingerprint: () => sha256(backing),
    cleanup: async () => {
      if (mounted) await exec('umount', [mountpoint]);
      await loop.detach();
    },
  };
}

function substitute(text: string, dir: string, target: string): string {
  return text.replaceAll('{dir}', dir).replaceAll('{target}', target);
}

const caseNames = existsSync(corpus)
  ? readdirSync(corpus, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()
  : [];

const suiteSkip = bmaptoolAvailable() ? null : 'needs bmaptool (Debian package bmap-tools)';
if (suiteSkip) process.stderr.write(`[skip] bad-input corpus: ${suiteSkip}\n`);

(suiteSkip ? describe.skip : describe)(`bad-input corpus (${caseNames.length} cases)${suiteSkip ? ` (skipped: ${suiteSkip})` : ''}`, () => {
  const work = { dir: '' };
  beforeAll(async () => {
    if (!cliBuilt()) throw new Error('build the CLI first: node scripts/build.mjs');
    work.dir = await fsp.mkdtemp(join(tmpdir(), 'sureflash-bad-input-'));
  });
  afterAll(async () => {
    if (work.dir) await fsp.rm(work.dir, { recursive: true, force: true });
  });

  it('the corpus is there and every case.json is well formed', () => {
    expect(caseNames.length).toBeGreaterThan(20);
    for (const name of caseNames) loadCase(name);
  });

  for (const name of caseNames) {
    const manifest = loadCase(name);
    const kind = manifest.target ?? 'file';
    const needsRoot = kind !== 'file' && kind !== 'dir';
    const skip = needsRoot ? rootSkipReason({ loop: true }) : null;
    const variants: (string | null)[] = manifest.decoders ? ['auto', 'builtin'] : [null];
    for (const decoder of variants) {
      const title = `${name}${decoder ? ` --decoder ${decoder}` : ''}: ${manifest.description}${skip ? ` (skipped: ${skip})` : ''}`;
      if (skip) process.stderr.write(`[skip] bad-input ${name}: ${skip}\n`);
      it.skipIf(skip !== null)(title, async () => {
        const dir = await fsp.mkdtemp(join(work.dir, `${name}-`));
        for (const file of readdirSync(join(corpus, name))) {
          if (file !== 'case.json') await fsp.copyFile(join(corpus, name, file), join(dir, file));
        }
        for (const step of manifest.prepare ?? []) await runStep(dir, step);
        const target = await prepareTarget(dir, kind);
        try {
          const before = await target.fingerprint();
          const args = manifest.args.map((a) => substitute(a, dir, target.path));
          if (decoder) args.splice(1, 0, '--decoder', decoder);
          let user: { uid: number; gid: number } | undefined;
          if (manifest.unprivileged && isRoot) {
            user = nobodyUser() ?? undefined;
            if (!user) throw new Error('no user "nobody" to run an unprivileged case as');
            // nobody must reach the files: only the case's own mode bits may stop it.
            await fsp.chmod(work.dir, 0o755);
            await fsp.chmod(dir, 0o755);
          }
          const stdinFile = manifest.stdin ? join(dir, manifest.stdin) : undefined;
          const result = await runCli(args, { timeoutMs: 60_000, ...(user ? { user } : {}), ...(stdinFile ? { stdinFile } : {}) });
          const about = `${name}: ${describeRun(result)}`;
          if (process.env.BAD_INPUT_VERBOSE) process.stderr.write(`[bad-input] ${name}${decoder ? ` (${decoder})` : ''}: ${describeRun(result)}\n`);
          expect(result.hung, about).toBe(false);
          expect(result.code, about).toBe(manifest.expectExit);
          expect(result.stderr, about).toMatch(/^sureflash: error: /m);
          const fragments = Array.isArray(manifest.expectMessage) ? manifest.expectMessage : [manifest.expectMessage];
          for (const fragment of fragments) expect(result.stderr, about).toContain(substitute(fragment, dir, target.path));
          if (manifest.expectExit === 1) {
            expect(result.report, `${about}\n(no --report file was written)`).not.toBeNull();
            expect(result.report?.status, about).toBe('failed');
            expect(result.report?.error?.code, about).toBe(manifest.expectCode);
          } else {
            expect(result.report, about).toBeNull();
          }
          if (manifest.targetUntouched ?? true) {
            expect(await target.fingerprint(), `${about}\nthe target was modified`).toBe(before);
          }
        } finally {
          await target.cleanup();
        }
      });
    }
  }
});
