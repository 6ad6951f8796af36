/**
 * What a device error means for a card: a media error of the blocks involved (the card is still there:
 * retried like a mismatch), the card gone (DEVICE_LOST), a full file system, a write-protected card, or a
 * request Sureflash should never have made (INTERNAL: never blamed on the card).
 */
import { stat } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { EngineError } from '../errors';
import type { DeviceError } from '../device/device-protocol';
import { splitRdev } from '../../system/block-device';
import type { TargetInfo } from '../device/device-client';

const GONE = new Set(['ENXIO', 'ENODEV', 'ENOMEDIUM', 'ESHUTDOWN', 'ENOTCONN', 'ESTALE']);
const MEDIA = new Set(['EIO', 'EREMOTEIO', 'ENODATA', 'EILSEQ', 'EBADMSG']);

export type DeviceFaultKind = { kind: 'media' } | { kind: 'fatal'; error: EngineError };

/** True when the device node is still the device that was opened and has media (size > 0). */
export async function nodeStillThere(info: TargetInfo): Promise<boolean> {
  if (info.kind !== 'block-device' || info.rdev === null) return true;
  try {
    const s = await stat(info.path);
    if (!s.isBlockDevice() || s.rdev !== info.rdev) return false;
    const { major, minor } = splitRdev(info.rdev);
    const sectors = Number((await readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8')).trim());
    return sectors > 0;
  } catch {
    return false;
  }
}

/**
 * Classifies one failed op. `stillReadable` re-reads a block the card held before: a card whose every read
 * fails is gone, even when its node stays (a reader whose card died).
 */
export async function classifyDeviceError(info: TargetInfo, error: DeviceError, what: string, stillReadable: () => Promise<boolean>): Promise<DeviceFaultKind> {
  const { path } = info;
  if (GONE.has(error.code)) {
    return { kind: 'fatal', error: new EngineError('DEVICE_LOST', `device lost: ${path} stopped responding during ${what} (${error.code}); it was removed or failed`) };
  }
  if (MEDIA.has(error.code)) {
    if ((await nodeStillThere(info)) && (await stillReadable())) return { kind: 'media' };
    return { kind: 'fatal', error: new EngineError('DEVICE_LOST', `device lost: ${path} stopped responding during ${what} (${error.code}); it was removed or failed`) };
  }
  if (error.code === 'ENOSPC') return { kind: 'fatal', error: new EngineError('TARGET_TOO_SMALL', `${path} is full: no space left during ${what}`) };
  if (error.code === 'EROFS' || error.code === 'EPERM' || error.code === 'EACCES') {
    return { kind: 'fatal', error: new EngineError('TARGET_READ_ONLY', `${path} refused a ${what} (${error.code}): the card is write-protected or read-only`) };
  }
  return {
    kind: 'fatal',
    error: new EngineError('INTERNAL', `Sureflash made a request ${path} could not take during ${what} (${error.code}: ${error.message}); this is a fault in Sureflash, not in the card`),
  };
}
