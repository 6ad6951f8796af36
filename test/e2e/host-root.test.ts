/**
 * The browser host run as root could erase any drive with no password prompt: it refuses to start
 * without an explicit flag, lists (and flashes) loop devices only with --allow-loop, and real drives only
 * with --allow-real-drives. Run by an ordinary user it lists real drives as the desktop app does.
 * Root only (it starts hosts as root and as nobody, and attaches a loop device).
 */
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DriveInfo } from '../../src/shared/api';
import { buildOnce, repoRoot, startHost } from '../helpers/browser';
import { connectHostApi } from '../helpers/host-api';
import { attachLoop } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

/** Whole disks the kernel lists (lsblk), e.g. /dev/vda: the real drives root must not see by default. */
const realDisks: string[] = (() => {
  const result = spawnSync('lsblk', ['--nodeps', '--noheadings', '--paths', '--output', 'NAME,TYPE'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((c) => c[1] === 'disk').map((c) => c[0] ?? '') : [];
})();

describeRoot(
  'the browser host run as root',
  () => {
    let dir: string;
    beforeAll(() => {
      buildOnce();
      dir = mkdtempSync(join(tmpdir(), 'sureflash-host-root-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('refuses to start without --allow-loop or --allow-real-drives, and says why (exit 2)', () => {
      const result = spawnSync(process.execPath, ['dist/main/host.cjs', '--user-data-dir', join(dir, 'refused')], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/running as root, so it could erase any drive without a password prompt\. Start it with --allow-loop .* or --allow-real-drives/);
    });

    it('with --allow-loop lists loop devices only: a real drive is neither listed nor flashed, and nothing is asked', async () => {
      const backing = join(dir, 'listed.bin');
      writeFileSync(backing, Buffer.alloc(4 * 1024 * 1024));
      const loop = await attachLoop(backing);
      const image = join(dir, 'small.img');
      writeFileSync(image, Buffer.alloc(64 * 1024, 5));
      const host = await startHost(['--allow-loop', '--user-data-dir', join(dir, 'loop-only')]);
      const client = await connectHostApi(host);
      try {
        expect(host.stderr()).toMatch(/running as root: only loop devices are listed/);
        const listed = await client.call<DriveInfo[]>('listDrives');
        if (!listed.ok) throw new Error(listed.error.message);
        expect(listed.value.map((d) => d.device)).toContain(loop.device);
        expect(listed.value.filter((d) => !d.isLoop)).toEqual([]);
        client.listen('confirm');
        for (const disk of realDisks) {
          const result = await client.call('flash', { imagePath: image, devices: [disk], readback: true, retries: 0, acknowledged: [] });
          expect(result, disk).toMatchObject({ ok: false, error: { code: 'TARGET_NOT_ALLOWED' } });
        }
        expect(client.seen('confirm')).toEqual([]);
      } finally {
        await client.close();
        await host.stop();
        await loop.detach();
      }
    });

    it.skipIf(realDisks.length === 0)('with --allow-real-drives lists real drives too, and says so (needs a real disk, e.g. /dev/vda)', async () => {
      const host = await startHost(['--allow-real-drives', '--user-data-dir', join(dir, 'real')]);
      const client = await connectHostApi(host);
      try {
        expect(host.stderr()).toMatch(/running as root with --allow-real-drives: every drive is listed and can be erased without a password prompt/);
        const listed = await client.call<DriveInfo[]>('listDrives');
        expect(listed.ok && listed.value.map((d) => d.device)).toEqual(expect.arrayContaining(realDisks));
      } finally {
        await client.close();
        await host.stop();
      }
    });

    it.skipIf(realDisks.length === 0)('run by an ordinary user, starts without either flag and lists the real drives (needs a real disk)', async () => {
      const userData = join(dir, 'nobody');
      mkdirSync(userData);
      chownSync(userData, 65534, 65534);
      const host = await startHost(['--user-data-dir', userData], 30_000, { uid: 65534, gid: 65534 });
      const client = await connectHostApi(host);
      try {
        expect(host.stderr()).not.toMatch(/running as root/);
        const listed = await client.call<DriveInfo[]>('listDrives');
        expect(listed.ok && listed.value.map((d) => d.device)).toEqual(expect.arrayContaining(realDisks));
      } finally {
        await client.close();
        await host.stop();
      }
    });
  },
  { loop: true },
);
