/**
 * The words of main's own "Erase …?" question before a flash (or "Check …?" before a verify), in one place:
 * the Electron shell shows them in a native dialog, the browser host sends them to the page as a
 * ConfirmRequest.
 */
import type { ConfirmRequest, DriveInfo, ImageInfo } from './api';
import { formatBytes } from './format';

export const CANCEL_LABEL = 'Cancel';

const driveText = (d: DriveInfo): string => `${d.description || d.device} (${d.device}, ${formatBytes(d.size)})`;

export function eraseConfirmation(drives: readonly DriveInfo[], image: Pick<ImageInfo, 'name'>, mode: 'copy' | 'verify' = 'copy'): Omit<ConfirmRequest, 'id'> {
  const several = drives.length > 1;
  if (mode === 'verify') {
    return {
      title: several ? 'Check drives?' : 'Check drive?',
      message: `Compare ${several ? `${drives.length} drives` : driveText(drives[0] as DriveInfo)} with ${image.name}?`,
      detail: several ? `${drives.map(driveText).join('\n')}\n\nNothing is written: the drives are only read.` : 'Nothing is written: the drive is only read.',
      confirmLabel: 'Check',
      danger: false,
    };
  }
  return {
    title: several ? 'Erase drives?' : 'Erase drive?',
    message: several ? `Erase ${drives.length} drives and write ${image.name} to each?` : `Erase ${driveText(drives[0] as DriveInfo)} and write ${image.name}?`,
    detail: several ? `${drives.map(driveText).join('\n')}\n\nEverything on these drives will be lost.` : 'Everything on this drive will be lost.',
    confirmLabel: several ? 'Erase and flash all' : 'Erase and flash',
    danger: true,
  };
}
