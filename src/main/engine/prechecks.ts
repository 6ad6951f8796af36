/**
 * Job-level checks before any target is opened for writing: the target must not be the image or the bmap
 * (same file through a hard link or a symlink, or the same device), must not hold them (a file on a
 * filesystem of the target drive, or the backing file of a target loop device).
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Stats } from 'node:fs';
import { EngineError } from './errors';
import { splitRdev } from '../system/block-device';

async function sysPathOf(rdev: number): Promise<string | null> {
  const { major, minor } = splitRdev(rdev);
  try {
    return await realpath(`/sys/dev/block/${major}:${minor}`);
  } catch {
    return null;
  }
}

/** True when device `inner` is `outer` or one of its partitions. */
async function onDevice(inner: number, outer: number): Promise<boolean> {
  if (inner === outer) return true;
  const [a, b] = await Promise.all([sysPathOf(inner), sysPathOf(outer)]);
  return a !== null && b !== null && a.startsWith(`${b}/`);
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}

/**
 * Refuses a target that is, or holds, the image or the bmap. `what` names the file for the message
 * ("the image", "the bmap").
 */
async function checkOne(file: string, what: string, target: string, targetStat: Stats): Promise<void> {
  const fileStat = await statOrNull(file);
  if (!fileStat) return;
  const refuse = (why: string): never => {
    throw new EngineError('TARGET_IS_SOURCE', `refusing to write ${target}: ${why}; writing it would destroy ${what} while it is being read`);
  };
  if (targetStat.isFile()) {
    if (fileStat.dev === targetStat.dev && fileStat.ino === targetStat.ino) refuse(`it is ${what} itself (${file})`);
    return;
  }
  if (!targetStat.isBlockDevice()) return;
  if (fileStat.isBlockDevice() && (await onDevice(fileStat.rdev, targetStat.rdev))) refuse(`${what} (${file}) is this device or one of its partitions`);
  if (fileStat.isBlockDevice() && (await onDevice(targetStat.rdev, fileStat.rdev))) refuse(`it is a partition of ${what} (${file})`);
  if (!fileStat.isBlockDevice() && fileStat.dev !== 0 && (await onDevice(fileStat.dev, targetStat.rdev))) {
    refuse(`${what} (${file}) is stored on this drive`);
  }
  const backing = await readFile(`/sys/block/${basename(await realpath(target))}/loop/backing_file`, 'utf8').then(
    (t) => t.trim(),
    () => null,
  );
  if (backing !== null) {
    const real = await realpath(file).catch(() => file);
    const backingStat = await statOrNull(backing);
    if (backing === real || (backingStat && backingStat.dev === fileStat.dev && backingStat.ino === fileStat.ino)) {
      refuse(`this loop device is backed by ${what} (${file})`);
    }
  }
}

export async function checkTargetIsNotSource(image: string, bmapPath: string | null, target: string): Promise<void> {
  const targetStat = await statOrNull(target);
  if (!targetStat) return;
  if (image !== '-') await checkOne(image, 'the image', target, targetStat);
  if (bmapPath) await checkOne(bmapPath, 'the bmap', target, targetStat);
}
