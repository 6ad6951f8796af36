/**
 * Etcher-style auto-selection, made safe: when exactly one drive could take the image and it is a plain
 * card or stick (never a system drive, a large one, a read-only one or one with any warning), it is chosen
 * for the user, with the reason shown. A drive the user has flashed or turned down is not chosen again
 * until it is removed.
 */
import type { DriveInfo, ImageInfo } from '../../shared/api';
import { evaluateDrives, LARGE_DRIVE_BYTES } from '../../shared/drive-rules';
import { imageContext } from './drive-context';

export const AUTO_SELECT_REASON = 'Chosen for you: the only card or stick connected that can take this image.';

/** The device to choose automatically, or null. `declined` are devices not to pick again. */
export function autoSelectDevice(drives: readonly DriveInfo[], image: ImageInfo | null, declined: ReadonlySet<string>): string | null {
  const eligible = evaluateDrives(drives, imageContext(image, false)).filter(
    ({ drive, verdict }) =>
      verdict.status === 'ok' && !drive.isSystem && !drive.isReadOnly && drive.size !== null && drive.size <= LARGE_DRIVE_BYTES,
  );
  const only = eligible.length === 1 ? eligible[0] : undefined;
  return only && !declined.has(only.drive.device) ? only.drive.device : null;
}
