/**
 * The real CLI copies the image inside a tar (raw and compressed, --nobmap, and with the .bmap member the
 * archive carries), a pzstd file, and a SHA-256-checked .xz with the built-in decoder: the target ends byte
 * for byte equal to the image. Before, a .tar.gz was written raw (the archive itself) and ended "Verified",
 * pzstd output was taken for a raw image, and the built-in decoder refused SHA-256. Build first.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bmaptoolAvailable, bmaptoolCreate, makeSparseImage, STANDARD_LAYOUT } from '../helpers/bmap-fixtures';
import { cliBuilt, describeRun, runCli } from '../helpers/cli';

let dir: string;
let image: Buffer;
beforeAll(async () => {
  if (!cliBuilt()) throw new Error('build the CLI first: node scripts/build.mjs');
  dir = mkdtempSync(join(tmpdir(), 'sureflash-archives-cli-'));
  await makeSparseImage(dir, 'os.img', STANDARD_LAYOUT);
  image = readFileSync(join(dir, 'os.img'));
  if (bmaptoolAvailable()) await bmaptoolCreate(join(dir, 'os.img'), join(dir, 'os.img.bmap'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sh = (script: string): void => {
  execFileSync('sh', ['-c', script], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
};

async function copyAndCompare(archive: string, extra: string[], decoder = 'auto'): Promise<void> {
  const target = join(dir, `${archive}.target`);
  writeFileSync(target, Buffer.alloc(2 * 1024 * 1024, 0xff));
  const result = await runCli(['copy', '--decoder', decoder, ...extra, join(dir, archive), target], { timeoutMs: 60_000 });
  expect(result.code, describeRun(result)).toBe(0);
  expect(result.report?.status).toBe('verified');
  expect(readFileSync(target).equals(image), 'the target holds the image member, not the archive').toBe(true);
}

describe('archives and frame formats through the CLI', { timeout: 120_000 }, () => {
  it.each(['tar', 'tar.gz', 'tar.bz2', 'tar.xz', 'tar.zst'])('.%s with --nobmap writes the image member', async (ext) => {
    const flag = { tar: '', 'tar.gz': '-z', 'tar.bz2': '-j', 'tar.xz': '-J', 'tar.zst': '--zstd' }[ext];
    sh(`tar -c ${flag} -f nobmap.${ext} os.img`);
    await copyAndCompare(`nobmap.${ext}`, ['--nobmap']);
  });

  it.skipIf(!bmaptoolAvailable())('a .tar.xz with the bmap after the image uses that bmap (both decoders)', async () => {
    sh('tar -cJf with-bmap.tar.xz os.img os.img.bmap');
    for (const decoder of ['auto', 'builtin']) {
      await copyAndCompare('with-bmap.tar.xz', [], decoder);
    }
    const target = join(dir, 'with-bmap.tar.xz.target');
    const result = await runCli(['copy', join(dir, 'with-bmap.tar.xz'), target], { timeoutMs: 60_000 });
    expect(result.report?.bmap?.path).toBe(`${join(dir, 'with-bmap.tar.xz')} (bmap inside the archive)`);
    expect(result.report?.ranges).toHaveLength(5);
  });

  it('a pzstd file (skippable frames) is decoded, not written raw', async () => {
    sh('pzstd -q -f -p 2 os.img -o os.img.zst');
    await copyAndCompare('os.img.zst', ['--nobmap']);
  });

  it('a SHA-256-checked .xz with the built-in decoder', async () => {
    sh('xz -k -f -c --check=sha256 os.img > sha.img.xz');
    await copyAndCompare('sha.img.xz', ['--nobmap'], 'builtin');
  });
});
