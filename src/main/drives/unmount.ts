/**
 * Unmounting and ejecting a drive before/after flashing, and mountedPaths / isMounted for main (Linux: the
 * one mount check in system/where-mounted.ts).
 *
 * Linux: every mounted filesystem of the device and its partitions is unmounted (deepest mountpoint first)
 * with `udisksctl unmount -b` when udisksctl exists, else `umount`; then /proc/self/mountinfo is read again
 * and anything still mounted is an error. macOS: `diskutil unmountDisk` / `diskutil eject`.
 * Windows: not implemented here. Writing to \\.\PhysicalDriveN needs each volume locked and dismounted
 * (FSCTL_LOCK_VOLUME / FSCTL_DISMOUNT_VOLUME) by the process that writes, which is the elevated helper's
 * job; these functions report TARGET_NOT_ALLOWED there.
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { DriveInfo } from '../../shared/api';
import { DriveError } from './drive-error';
import { listDrives } from './list-drives';
import { mountsOfDevice, type MountEntry } from '../system/mountinfo';
import { swapsOfDevice } from '../system/swaps';
import { whereMounted } from '../system/where-mounted';

interface RunResult {
  ok: boolean;
  output: string;
}

function run(command: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ ok: !err, output: `${stdout}${stderr}`.trim() || (err ? err.message : '') });
    });
  });
}

async function onPath(command: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      await access(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

const devicePathOf = (drive: DriveInfo | string): string => (typeof drive === 'string' ? drive : drive.device);

/**
 * Mountpoints of the device or any of its partitions, plus "swap on /dev/…" for active swap areas; empty
 * when nothing of the device is in use. Linux asks system/where-mounted (the one mount check); elsewhere
 * the mountpoints drivelist reports stand in.
 */
export async function mountedPaths(devicePath: string): Promise<string[]> {
  const paths = await whereMounted(devicePath);
  if (paths !== null) return paths;
  const drive = (await listDrives({ allowLoop: false })).find((d) => d.device === devicePath || d.raw === devicePath);
  return drive ? drive.mountpoints : [];
}

/** True when the device or one of its partitions is mounted. */
export async function isMounted(devicePath: string): Promise<boolean> {
  return (await mountedPaths(devicePath)).length > 0;
}

const depth = (m: MountEntry): number => m.mountpoint.split('/').length;

async function unmountLinux(devicePath: string): Promise<void> {
  const useUdisks = await onPath('udisksctl');
  const failures: string[] = [];
  const mounts = (await mountsOfDevice(devicePath)).sort((a, b) => depth(b) - depth(a));
  for (const mount of mounts) {
    let result: RunResult = { ok: false, output: '' };
    if (useUdisks && mount.source.startsWith('/dev/')) {
      result = await run('udisksctl', ['unmount', '--no-user-interaction', '-b', mount.source]);
    }
    if (!result.ok) result = await run('umount', [mount.mountpoint]);
    if (!result.ok) failures.push(result.output);
  }
  const swaps = await swapsOfDevice(devicePath);
  if (swaps.length > 0) {
    throw new DriveError(
      'TARGET_BUSY',
      `${devicePath} is in use as swap space (${swaps.join(', ')}). Turn it off (swapoff ${swaps[0]}), then try again.`,
    );
  }
  const left = await mountsOfDevice(devicePath);
  if (left.length === 0) return;
  const where = [...new Set(left.map((m) => m.mountpoint))].join(', ');
  const busy = failures.some((f) => /busy/i.test(f));
  throw new DriveError(
    busy ? 'TARGET_BUSY' : 'TARGET_MOUNTED',
    busy
      ? `${devicePath} is still mounted at ${where}: a program is using it. Close it, then try again.`
      : `${devicePath} is still mounted at ${where} and could not be unmounted${failures[0] ? ` (${failures[0]})` : ''}.`,
  );
}

async function diskutil(args: string[], devicePath: string, what: string): Promise<void> {
  const result = await run('diskutil', args);
  if (result.ok) return;
  const busy = /busy|in use|dissent/i.test(result.output);
  throw new DriveError(busy ? 'TARGET_BUSY' : 'TARGET_MOUNTED', `Could not ${what} ${devicePath}: ${result.output}`);
}

/**
 * Unmounts every filesystem of the drive; throws DriveError TARGET_MOUNTED / TARGET_BUSY if any stays, and
 * TARGET_BUSY for an active swap area on it (never turned off behind the user's back).
 */
export async function unmountDrive(drive: DriveInfo | string): Promise<void> {
  const devicePath = devicePathOf(drive);
  if (process.platform === 'linux') return unmountLinux(devicePath);
  if (process.platform === 'darwin') return diskutil(['unmountDisk', devicePath], devicePath, 'unmount');
  throw new DriveError('TARGET_NOT_ALLOWED', `Unmounting ${devicePath} is done by the writer on this system.`);
}

/**
 * Unmounts, then powers the drive off so it can be pulled out (Linux `udisksctl power-off`, else `eject`;
 * macOS `diskutil eject`). Loop devices are only unmounted: they have nothing to power off.
 */
export async function ejectDrive(drive: DriveInfo | string): Promise<void> {
  const devicePath = devicePathOf(drive);
  if (process.platform === 'darwin') return diskutil(['eject', devicePath], devicePath, 'eject');
  await unmountDrive(devicePath);
  if (process.platform !== 'linux' || /^\/dev\/loop\d+$/.test(devicePath)) return;
  let result: RunResult = { ok: false, output: 'neither udisksctl nor eject is installed' };
  if (await onPath('udisksctl')) result = await run('udisksctl', ['power-off', '--no-user-interaction', '-b', devicePath]);
  if (!result.ok && (await onPath('eject'))) result = await run('eject', [devicePath]);
  if (!result.ok) {
    throw new DriveError(
      'TARGET_BUSY',
      `${devicePath} is unmounted but could not be powered off (${result.output}). Wait a few seconds, then remove it.`,
    );
  }
}
