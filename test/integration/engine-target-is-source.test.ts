/**
 * Issue 10 §3 and §6: writing the image onto itself. The target is the image or its bmap — the same file by
 * name, through a hard link or a symlink, the bmap given with --bmap or found next to the image, a compressed
 * image — or the image is the target block device itself (through a symlink), the target loop device is
 * backed by the image, or the image sits on a filesystem of the target drive. Each is refused by the built
 * CLI with TARGET_IS_SOURCE before anything is opened for writing: exit 1, a message that says why, and the
 * image and the bmap byte-unchanged. `verify` only reads, so it may compare a file with itself.
 *
 * Build first: `node scripts/build.mjs`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bmaptoolCreate, makeSparseImage, STANDARD_LAYOUT } from '../helpers/bmap-fixtures';
import { cliBuilt, describeRun, runCli, type CliResult } from '../helpers/cli';
import { attachLoop, readDirect, run } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

const MiB = 1024 * 1024;
let dir = '';
let image = '';
let bmap = '';

const digest = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function expectRefused(result: CliResult, why: RegExp): void {
  expect(result.code, describeRun(result)).toBe(1);
  expect(result.report?.status).toBe('failed');
  expect(result.report?.error?.code).toBe('TARGET_IS_SOURCE');
  expect(result.stderr).toMatch(/refusing to write .*would destroy/);
  expect(result.stderr).toMatch(why);
  expect(result.report?.totals.bytesWritten).toBe(0);
}

/** A fresh copy of the image and its bmap in their own folder (a test that failed could have damaged them). */
function freshPair(name: string): { img: string; bmap: string; imgSum: string; bmapSum: string } {
  const folder = join(dir, name);
  mkdirSync(folder);
  const img = join(folder, 'os.img');
  copyFileSync(image, img);
  copyFileSync(bmap, `${img}.bmap`);
  return { img, bmap: `${img}.bmap`, imgSum: digest(img), bmapSum: digest(`${img}.bmap`) };
}

beforeAll(async () => {
  if (!cliBuilt()) throw new Error('build the CLI first: node scripts/build.mjs');
  dir = mkdtempSync(join(tmpdir(), 'sureflash-self-'));
  image = await makeSparseImage(dir, 'source.img', STANDARD_LAYOUT);
  bmap = `${image}.bmap`;
  await bmaptoolCreate(image, bmap);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the target is the image or its bmap (regular files)', () => {
  it('sureflash copy img img', async () => {
    const p = freshPair('same');
    const result = await runCli(['copy', p.img, p.img]);
    expectRefused(result, /it is the image itself/);
    expect(digest(p.img)).toBe(p.imgSum);
    expect(digest(p.bmap)).toBe(p.bmapSum);
  });

  it('verify only reads: an image compared with itself is not refused', async () => {
    const p = freshPair('verify-self');
    const result = await runCli(['verify', p.img, p.img]);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.report?.status).toBe('verified');
    expect(digest(p.img)).toBe(p.imgSum);
  });

  it('the target is a hard link to the image', async () => {
    const p = freshPair('hardlink');
    const link = join(dir, 'hardlink', 'card.img');
    linkSync(p.img, link);
    const result = await runCli(['copy', p.img, link]);
    expectRefused(result, /it is the image itself/);
    expect(digest(p.img)).toBe(p.imgSum);
  });

  it('the target is a symlink to the image (and the image a symlink to the target)', async () => {
    const p = freshPair('symlink');
    const sym = join(dir, 'symlink', 'card.img');
    symlinkSync(p.img, sym);
    expectRefused(await runCli(['copy', p.img, sym]), /it is the image itself/);
    expectRefused(await runCli(['copy', '--bmap', p.bmap, sym, p.img]), /it is the image itself/);
    expect(digest(p.img)).toBe(p.imgSum);
  });

  it('--bmap names the target, and the target is the bmap found next to the image', async () => {
    const p = freshPair('bmap');
    expectRefused(await runCli(['copy', '--bmap', p.bmap, p.img, p.bmap]), /it is the bmap itself/);
    expectRefused(await runCli(['copy', p.img, p.bmap]), /it is the bmap itself/);
    expect(digest(p.img)).toBe(p.imgSum);
    expect(digest(p.bmap)).toBe(p.bmapSum);
  });

  it('a compressed image onto itself, by name and through a hard link', async () => {
    const p = freshPair('gz');
    execFileSync('gzip', ['-k', p.img]);
    const gz = `${p.img}.gz`;
    const gzSum = digest(gz);
    const link = join(dir, 'gz', 'card.img');
    linkSync(gz, link);
    expectRefused(await runCli(['copy', '--bmap', p.bmap, gz, gz]), /it is the image itself/);
    expectRefused(await runCli(['copy', '--bmap', p.bmap, gz, link]), /it is the image itself/);
    expect(digest(gz)).toBe(gzSum);
  });
});

describeRoot('the image is, or is stored on, the target block device', () => {
  it('the image is the target device through a symlink', async () => {
    const backing = join(dir, 'dev-self.bin');
    writeFileSync(backing, Buffer.alloc(4 * MiB, 0x5a));
    const loop = await attachLoop(backing);
    try {
      const link = join(dir, 'card-link');
      symlinkSync(loop.device, link);
      const result = await runCli(['copy', '--nobmap', link, loop.device]);
      expectRefused(result, /is this device or one of its partitions/);
      expect((await readDirect(loop.device, 0, 4 * MiB)).equals(Buffer.alloc(4 * MiB, 0x5a))).toBe(true);
    } finally {
      await loop.detach();
    }
  });

  it('the image is a partition of the target device, and the target a partition of the image device', async () => {
    const backing = join(dir, 'dev-parts.bin');
    writeFileSync(backing, Buffer.alloc(8 * MiB, 0x3c));
    execFileSync('sfdisk', ['-q', backing], { input: 'label: dos\nstart=2048, size=8192, type=83\n' });
    const before = readFileSync(backing);
    const loop = await attachLoop(backing);
    try {
      const part = `${loop.device}p1`;
      for (let waited = 0; !existsSync(part) && waited < 5000; waited += 100) {
        await run('partx', ['-a', loop.device]);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(existsSync(part), `${part} did not appear`).toBe(true);
      expectRefused(await runCli(['copy', '--nobmap', part, loop.device]), /is this device or one of its partitions/);
      expectRefused(await runCli(['copy', '--nobmap', loop.device, part]), /it is a partition of the image/);
    } finally {
      await loop.detach();
    }
    expect(readFileSync(backing).equals(before)).toBe(true);
  });

  it('the target loop device is backed by the image', async () => {
    const p = freshPair('backed');
    const loop = await attachLoop(p.img);
    try {
      const result = await runCli(['copy', '--bmap', p.bmap, p.img, loop.device]);
      expectRefused(result, /this loop device is backed by the image/);
    } finally {
      await loop.detach();
    }
    expect(digest(p.img)).toBe(p.imgSum);
  });

  it('the image and the bmap sit on a filesystem of the target drive', async () => {
    const backing = join(dir, 'dev-fs.bin');
    writeFileSync(backing, '');
    execFileSync('truncate', ['-s', String(16 * MiB), backing]);
    execFileSync('mkfs.ext4', ['-q', '-F', backing]);
    const loop = await attachLoop(backing);
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    const mounted = await run('mount', [loop.device, mnt]);
    expect(mounted.code, mounted.stderr).toBe(0);
    try {
      const img = join(mnt, 'os.img');
      copyFileSync(image, img);
      copyFileSync(bmap, `${img}.bmap`);
      const sum = digest(img);
      const result = await runCli(['copy', img, loop.device]);
      expectRefused(result, /the image \(.*\) is stored on this drive/);
      expect(digest(img)).toBe(sum);
      expect(statSync(img).size).toBe(STANDARD_LAYOUT.size);
    } finally {
      await run('umount', [mnt]);
      await loop.detach();
    }
  });
});
