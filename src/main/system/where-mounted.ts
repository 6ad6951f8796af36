/**
 * The one mount check of the house: is this block device, or any of its partitions, mounted or in use as
 * swap? Linux answers from /proc/self/mountinfo, /proc/swaps and sysfs (see mountinfo.ts for how a device's
 * partitions are matched, btrfs's anonymous device numbers included). The drives room (before unmounting),
 * the privileged helper (before it opens a device as root) and the engine's block-device target all ask here.
 */
import { mountsOfDevice } from './mountinfo';
import { swapsOfDevice } from './swaps';

/**
 * Where the device or any of its partitions is in use: each mountpoint once, then "swap on /dev/…" for each
 * active swap area. Empty when nothing of it is in use; null when this platform cannot tell here (not
 * Linux) — callers must not read null as "not mounted".
 */
export async function whereMounted(devicePath: string, platform: NodeJS.Platform = process.platform): Promise<string[] | null> {
  if (platform !== 'linux') return null;
  const [mounts, swaps] = await Promise.all([mountsOfDevice(devicePath), swapsOfDevice(devicePath)]);
  return [...new Set(mounts.map((m) => m.mountpoint)), ...swaps.map((s) => `swap on ${s}`)];
}
