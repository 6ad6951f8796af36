import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDrivesCommand } from '../../src/main/cli/drives-command';
import { createDriveService } from '../../src/main/drives/drive-service';
import { listDrives } from '../../src/main/drives/list-drives';
import { readMountinfo } from '../../src/main/system/mountinfo';
import { ejectDrive, isMounted, mountedPaths, unmountDrive } from '../../src/main/drives/unmount';
import type { DriveInfo } from '../../src/shared/api';
import { checkFlashAllowed, evaluateDrive } from '../../src/shared/drive-rules';

const isRoot = process.getuid?.() === 0;
const repoRoot = join(__dirname, '..', '..');
const cliBundle = join(repoRoot, 'dist', 'main', 'cli.cjs');
const isLinux = process.platform === 'linux';
const MiB = 1024 * 1024;

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' }).trim();

/** Writes a one-partition MBR (type 0x83, from sector 2048 to the end) at the start of `file`. */
function writeMbr(file: string, totalBytes: number): void {
  const mbr = Buffer.alloc(512);
  const start = 2048;
  mbr[446 + 4] = 0x83;
  mbr.writeUInt32LE(start, 446 + 8);
  mbr.writeUInt32LE(totalBytes / 512 - start, 446 + 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  const fd = openSync(file, 'r+');
  writeSync(fd, mbr, 0, 512, 0);
  closeSync(fd);
}

/** Waits (bounded) for a device node the kernel creates asynchronously, e.g. /dev/loop3p1. */
async function waitForNode(path: string): Promise<void> {
  for (let i = 0; i < 100 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(path)) throw new Error(`${path} did not appear`);
}

async function mountedAnywhere(device: string): Promise<string[]> {
  const name = basename(device);
  return (await readMountinfo())
    .filter((m) => m.source === device || new RegExp(`^/dev/${name}p\\d+$`).test(m.source))
    .map((m) => m.mountpoint);
}

describe.skipIf(!isRoot || !isLinux)('drives on real loop devices (needs root on Linux: losetup, mount)', () => {
  const work = mkdtempSync(join(tmpdir(), 'sureflash-drives-'));
  const attached: string[] = [];
  const mounted: string[] = [];

  const attach = (file: string, extra: string[] = []): string => {
    const device = sh('losetup', ['-f', '--show', ...extra, file]);
    attached.push(device);
    return device;
  };
  const makeFile = (name: string, bytes: number): string => {
    const file = join(work, name);
    execFileSync('truncate', ['-s', String(bytes), file]);
    return file;
  };
  const mountAt = (device: string, name: string): string => {
    const dir = join(work, name);
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('mount', [device, dir]);
    mounted.push(dir);
    return dir;
  };

  let plain = '';
  beforeAll(() => {
    plain = attach(makeFile('plain.img', 64 * MiB));
  });

  afterAll(() => {
    for (const dir of mounted.reverse()) {
      try {
        execFileSync('umount', [dir], { stdio: 'ignore' });
      } catch {
        // already unmounted by the test
      }
    }
    for (const device of attached) execFileSync('losetup', ['-d', device], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  });

  it('lists an attached loop device only with allowLoop', async () => {
    const withLoop = await listDrives({ allowLoop: true });
    const loop = withLoop.find((d) => d.device === plain);
    expect(loop).toMatchObject({
      isLoop: true,
      isRemovable: true,
      isReadOnly: false,
      size: 64 * MiB,
      description: 'Loop device (plain.img)',
      mountpoints: [],
    });
    expect(evaluateDrive(loop!, { imageSize: 32 * MiB, imagePath: null, showHidden: false }).status).toBe('ok');
    expect(evaluateDrive(loop!, { imageSize: 128 * MiB, imagePath: null, showHidden: false }).reasons.map((r) => r.code)).toEqual([
      'TOO_SMALL',
    ]);

    const without = await listDrives({ allowLoop: false });
    expect(without.some((d) => d.device === plain)).toBe(false);
    expect(without.some((d) => d.isLoop)).toBe(false);
  });

  it('reports a read-only loop device as read-only and refuses it', async () => {
    const ro = attach(makeFile('locked.img', 16 * MiB), ['-r']);
    const drive = (await listDrives({ allowLoop: true })).find((d) => d.device === ro);
    expect(drive?.isReadOnly).toBe(true);
    expect(checkFlashAllowed(drive!, { imageSize: MiB, imagePath: null, showHidden: false }, [])).toMatchObject({
      ok: false,
      code: 'TARGET_READ_ONLY',
    });
  });

  it('sees a mounted loop device, refuses it as the source drive, and unmounts it', async () => {
    execFileSync('mkfs.ext4', ['-q', '-F', plain]);
    const dir = mountAt(plain, 'whole');
    expect(await isMounted(plain)).toBe(true);
    const drive = (await listDrives({ allowLoop: true })).find((d) => d.device === plain);
    expect(drive?.mountpoints).toEqual([dir]);
    const imagePath = join(dir, 'os.img');
    expect(checkFlashAllowed(drive!, { imageSize: MiB, imagePath, showHidden: false }, [])).toMatchObject({
      ok: false,
      code: 'TARGET_NOT_ALLOWED',
    });

    await unmountDrive(drive!);
    expect(await isMounted(plain)).toBe(false);
    expect(await mountedAnywhere(plain)).toEqual([]);
  });

  it('sees a mounted partition (loopNp1) as the device being mounted, and unmounts it', async () => {
    const file = makeFile('partitioned.img', 64 * MiB);
    writeMbr(file, 64 * MiB);
    const device = attach(file, ['-P']);
    const partition = `${device}p1`;
    // Some kernels (this VM) do not scan at attach time even with -P: ask for the partitions explicitly.
    try {
      execFileSync('partx', ['-a', device], { stdio: 'ignore' });
    } catch {
      // already added by the kernel's own scan
    }
    await waitForNode(partition);
    execFileSync('mkfs.ext4', ['-q', '-F', partition]);
    const dir = mountAt(partition, 'part');

    expect(await mountedPaths(device)).toEqual([dir]);
    const drive = (await listDrives({ allowLoop: true })).find((d) => d.device === device);
    expect(drive?.mountpoints).toEqual([dir]);

    await unmountDrive(device);
    expect(await isMounted(device)).toBe(false);
    expect(await mountedAnywhere(device)).toEqual([]);
  });

  it('reports TARGET_BUSY naming the device and mountpoint while a file on it is open', async () => {
    const dir = mountAt(plain, 'busy');
    const fd = openSync(join(dir, 'held-open'), 'w');
    try {
      const error = await unmountDrive(plain).then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).toMatchObject({ code: 'TARGET_BUSY' });
      expect((error as Error).message).toContain(plain);
      expect((error as Error).message).toContain(dir);
      expect(await isMounted(plain)).toBe(true);
    } finally {
      closeSync(fd);
    }
    await unmountDrive(plain);
    expect(await mountedAnywhere(plain)).toEqual([]);
  });

  it('ejecting a mounted loop device unmounts it (nothing to power off)', async () => {
    mountAt(plain, 'eject');
    expect(await isMounted(plain)).toBe(true);
    await ejectDrive(plain);
    expect(await mountedAnywhere(plain)).toEqual([]);
  });

  it('counts an active swap area as in use and refuses to unmount it (TARGET_BUSY)', async () => {
    const device = attach(makeFile('swap.img', 16 * MiB));
    execFileSync('mkswap', ['-q', device]);
    execFileSync('swapon', [device]);
    try {
      expect(await mountedPaths(device)).toEqual([`swap on ${device}`]);
      const error = await unmountDrive(device).then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).toMatchObject({ code: 'TARGET_BUSY' });
      expect((error as Error).message).toContain(`swapoff ${device}`);
    } finally {
      execFileSync('swapoff', [device]);
    }
    expect(await isMounted(device)).toBe(false);
  });

  it('the drive service pushes a list with a newly attached loop device, then without it once detached', async () => {
    const service = createDriveService({ allowLoop: true, intervalMs: 100 });
    const pushes: DriveInfo[][] = [];
    let wake: (() => void) | null = null;
    const stop = service.subscribe((list) => {
      pushes.push(list);
      wake?.();
    });
    /** Resolves once a push satisfies `test` (bounded by the test timeout, no timing assertion). */
    const until = (test: (list: DriveInfo[]) => boolean): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (pushes.some(test)) resolve();
        };
        wake = check;
        check();
      });
    try {
      await until(() => true);
      const fresh = makeFile('hotplug.img', 8 * MiB);
      const device = sh('losetup', ['-f', '--show', fresh]);
      try {
        await until((list) => list.some((d) => d.device === device && d.description === 'Loop device (hotplug.img)'));
      } finally {
        execFileSync('losetup', ['-d', device]);
      }
      const seenAt = pushes.findIndex((list) => list.some((d) => d.device === device));
      await until((list) => pushes.indexOf(list) > seenAt && !list.some((d) => d.device === device));
    } finally {
      stop();
    }
  });

  it('`drives --json --allow-loop` prints JSON with the loop device and its verdict', async () => {
    let out = '';
    let err = '';
    const code = await runDrivesCommand(['--json', '--allow-loop'], {
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t) },
    });
    expect(code).toBe(0);
    expect(err).toBe('');
    const parsed = JSON.parse(out) as { device: string; isLoop: boolean; isSystem: boolean; verdict: { status: string } }[];
    const loop = parsed.find((d) => d.device === plain);
    expect(loop).toMatchObject({ isLoop: true, verdict: { status: 'ok' } });
    expect(parsed.some((d) => d.isSystem)).toBe(false);
  });

  it.skipIf(!existsSync(cliBundle))('the built `sureflash drives --json --allow-loop` prints the same (needs `npm run build`)', () => {
    const out = execFileSync(process.execPath, [join(repoRoot, 'bin', 'sureflash.cjs'), 'drives', '--json', '--allow-loop'], {
      encoding: 'utf8',
    });
    const parsed = JSON.parse(out) as { device: string; isLoop: boolean; verdict: { status: string } }[];
    expect(parsed.find((d) => d.device === plain)).toMatchObject({ isLoop: true, verdict: { status: 'ok' } });
    const table = execFileSync(process.execPath, [join(repoRoot, 'bin', 'sureflash.cjs'), 'drives', '--allow-loop'], {
      encoding: 'utf8',
    });
    expect(table).toMatch(new RegExp(`^${plain}\\s+67\\.1 MB\\s+Loop device \\(plain\\.img\\)\\s+ok`, 'm'));
  });
});
