/**
 * The words of main's own "Erase …?" question before a flash (or "Check …?" before a verify), in one place:
 * the Electron shell shows them in a native dialog, the browser host in the page.
 */
import type { DriveInfo, ImageInfo } from './api';
import { formatBytes } from './format';

export interface EraseQuestion {
  title: string;
  message: string;
  detail: string;
  confirmLabel: string;
  /** True when answering yes destroys data. */
  danger: boolean;
}

const driveText = (d: DriveInfo): string => `${d.description || d.device} (${d.device}, ${formatBytes(d.size)})`;

export function eraseQuestion(drives: readonly DriveInfo[], image: Pick<ImageInfo, 'name'>, mode: 'copy' | 'verify' = 'copy'): EraseQuestion {
  const several = drives.length > 1;
  if (mode === 'verify') {
    return {
      title: several ? 'Check drives?' : 'Check drive?',
      message: `Compare ${several ? `${drives.length} drives` : driveText(drives[0] as DriveInfo)} with ${image.name}?`,
      detail: several ? drives.map(driveText).join('\n') : 'Nothing is written: the drive is only read.',
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
