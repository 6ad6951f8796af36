/**
 * The helper's own check of the target before it writes with administrator rights: it must be a device
 * node (not a file or a symlink to one somewhere else) and not mounted. Main checked this too; the helper
 * does not rely on it.
 */
import { stat } from 'node:fs/promises';
import { EngineError } from '../engine/errors';
import { whereMounted } from '../system/where-mounted';

export async function requireUnmountedDevice(target: string, platform: NodeJS.Platform = process.platform): Promise<void> {
  if (platform === 'win32') {
    if (!/^\\\\\.\\PhysicalDrive\d+$/i.test(target)) throw new EngineError('TARGET_INVALID', `${target} is not a physical drive.`);
    return;
  }
  let info;
  try {
    info = await stat(target);
  } catch {
    throw new EngineError('TARGET_NOT_FOUND', `${target} does not exist: check that the drive is still connected.`);
  }
  // macOS writes to the raw /dev/rdiskN node, which is a character device.
  const isDevice = info.isBlockDevice() || (platform === 'darwin' && info.isCharacterDevice());
  if (!isDevice) throw new EngineError('TARGET_INVALID', `${target} is not a drive (block device); refusing to write to it.`);
  const mounts = await whereMounted(target, platform);
  if (mounts === null) {
    throw new EngineError('TARGET_NOT_ALLOWED', `Refusing ${target}: on this system the helper cannot check that none of its partitions is mounted (it can on Linux).`);
  }
  if (mounts.length > 0) {
    throw new EngineError('TARGET_MOUNTED', `${target} is mounted (${mounts.join(', ')}). Unmount it, then try again.`);
  }
}
