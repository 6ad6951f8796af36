/**
 * Attached loop devices (Linux), which drivelist does not report. Only listed when the app runs with an
 * explicit test option (allowLoop): they let tests and demos flash a file-backed "drive".
 */
import { readFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DriveInfo } from '../../shared/api';
import { blockIdentity, mountsMatching, readMountinfo, type MountEntry } from '../system/mountinfo';

async function readOptional(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return null;
  }
}

/** Loop devices with a backing file, as DriveInfo (isLoop, removable, virtual). */
export async function listLoopDevices(options: { sysRoot?: string; mounts?: readonly MountEntry[] } = {}): Promise<DriveInfo[]> {
  if (process.platform !== 'linux') return [];
  const sysRoot = options.sysRoot ?? '/sys';
  let names: string[];
  try {
    names = (await readdir(join(sysRoot, 'block'))).filter((n) => /^loop\d+$/.test(n));
  } catch {
    return [];
  }
  const mounts = options.mounts ?? (await readMountinfo().catch(() => []));
  const drives: DriveInfo[] = [];
  for (const name of names.sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))) {
    const base = join(sysRoot, 'block', name);
    const backing = await readOptional(join(base, 'loop', 'backing_file'));
    if (!backing) continue;
    const sectors = Number(await readOptional(join(base, 'size')));
    const readOnly = (await readOptional(join(base, 'ro'))) === '1';
    const identity = await blockIdentity(`/dev/${name}`, sysRoot);
    const mountpoints = [...new Set(mountsMatching(mounts, identity).map((m) => m.mountpoint))];
    const device = `/dev/${name}`;
    drives.push({
      device,
      raw: device,
      description: `Loop device (${basename(backing.replace(/ \(deleted\)$/, ''))})`,
      size: Number.isFinite(sectors) && sectors > 0 ? sectors * 512 : null,
      isSystem: false,
      isRemovable: true,
      isReadOnly: readOnly,
      isVirtual: true,
      isCard: false,
      isUSB: false,
      isLoop: true,
      busType: 'LOOP',
      mountpoints,
    });
  }
  return drives;
}
