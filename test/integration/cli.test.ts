/**
 * The `sureflash` command as a user runs it: help, version, exit codes, standard input, the report file.
 * (Bad inputs are the table-driven corpus in bad-input.test.ts; the worn card in worn-card-engine.test.ts.)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlashReport } from '../../src/shared/report';
import { bmaptoolCreate, makeSparseImage, STANDARD_LAYOUT } from '../helpers/bmap-fixtures';
import { cliBin, runCli } from '../helpers/cli';

let dir: string;
let image: string;
let bmap: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sureflash-cli-test-'));
  image = await makeSparseImage(dir, 'os.img', STANDARD_LAYOUT);
  bmap = join(dir, 'os.img.bmap');
  await bmaptoolCreate(image, bmap);
  execFileSync('xz', ['-k', '-T2', image]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sureflash command', () => {
  it('--help lists the commands and exits 0; no command is a usage error', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/copy .*--checksum-retry/s);
    expect(help.stdout).toMatch(/verify/);
    expect(help.stdout).toMatch(/drives/);
    const none = await runCli([]);
    expect(none.code).toBe(2);
  });

  it('--version prints the package version', async () => {
    const { code, stdout } = await runCli(['--version']);
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(`sureflash ${pkg.version}`);
  });

  it('an unknown command or option exits 2 with one error line and a hint', async () => {
    const bad = await runCli(['flash', 'a', 'b']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^sureflash: error: unknown command "flash"/);
    expect(bad.stderr).toMatch(/sureflash --help/);
    const option = await runCli(['copy', '--bogus', image, join(dir, 'x')]);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/sureflash: error: .*--bogus/);
  });

  it('copies an .xz image found next to its bmap, writes the report, exits 0', async () => {
    const target = join(dir, 'out.img');
    const run = await runCli(['copy', `${image}.xz`, target]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/Verified: /);
    expect(run.stderr).toMatch(/bmap .*os\.img\.bmap \(version 2\.0, sha256 checksums\)/);
    expect(run.report?.status).toBe('verified');
    expect(run.report?.bmap?.path).toBe(bmap);
    expect(readFileSync(target).equals(readFileSync(image))).toBe(true);
  });

  // The built bundle, not the sources: a decoder module that loads lazily must resolve from dist/ too.
  it.each([
    ['gz', 'gzip', (src: string) => execFileSync('gzip', ['-k', '-f', src])],
    ['bz2', 'bzip2', (src: string) => execFileSync('bzip2', ['-k', '-f', src])],
    ['xz', 'xz', (src: string) => execFileSync('xz', ['-k', '-f', '-T2', src])],
    ['zst', 'zstd', (src: string) => execFileSync('zstd', ['-q', '-k', '-f', src])],
    ['zip', 'zip', (src: string) => execFileSync('zip', ['-q', '-j', `${src}.zip`, src])],
  ])('copies a .%s image with the built-in decoder (--decoder builtin)', async (ext, compression, compress) => {
    const src = join(dir, `builtin-${ext}.img`);
    execFileSync('cp', ['--sparse=always', image, src]);
    compress(src);
    const target = join(dir, `builtin-${ext}.out`);
    const run = await runCli(['copy', '--decoder', 'builtin', '--bmap', bmap, `${src}.${ext}`, target]);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(run.report?.image.compression).toBe(compression);
    expect(run.report?.image.decoder).not.toMatch(/system/);
    expect(readFileSync(target).equals(readFileSync(image))).toBe(true);
  });

  it('reads the image from standard input ("-")', () => {
    const target = join(dir, 'stdin.img');
    const report = join(dir, 'stdin.json');
    const run = spawnSync(process.execPath, [cliBin, 'copy', '-q', '--bmap', bmap, '--report', report, '-', target], {
      input: readFileSync(`${image}.xz`),
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect((JSON.parse(readFileSync(report, 'utf8')) as FlashReport).image.compression).toBe('xz');
    expect(readFileSync(target).equals(readFileSync(image))).toBe(true);
  });

  it('--no-readback exits 0 and says the data was not read back', async () => {
    const run = await runCli(['copy', '--no-readback', image, join(dir, 'noread.img')]);
    expect(run.code).toBe(0);
    expect(run.report?.status).toBe('written-unverified');
    expect(run.stderr).toMatch(/Written \(not read back\)/);
  });

  it('verify exits 0 on a good copy and 1 on a damaged one, naming the range', async () => {
    const target = join(dir, 'verify.img');
    expect((await runCli(['copy', '-q', image, target])).code).toBe(0);
    expect((await runCli(['verify', image, target])).code).toBe(0);
    const fd = readFileSync(target);
    fd.writeUInt8(fd.readUInt8(10 * 4096 + 7) ^ 0xff, 10 * 4096 + 7);
    execFileSync('dd', [`of=${target}`, 'conv=notrunc', 'status=none'], { input: fd });
    const bad = await runCli(['verify', image, target]);
    expect(bad.code).toBe(1);
    expect(bad.report?.status).toBe('failed');
    const failed = bad.report?.ranges.filter((r) => r.state === 'failed') ?? [];
    expect(failed.map((r) => [r.first, r.last])).toEqual([[10, 10]]);
    expect(bad.stderr).toMatch(/sureflash: error: block 10 on .* does not match the image \(range 2\)/);
  });
});
