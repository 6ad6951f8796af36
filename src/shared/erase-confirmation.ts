/**
 * The words of main's "Erase this drive?" question, in one place: the Electron shell shows them in a
 * native dialog, the browser host sends them to the page as a ConfirmRequest.
 */
import type { ConfirmRequest, DriveInfo, ImageInfo } from './api';
import { formatBytes } from './format';

export const CANCEL_LABEL = 'Cancel';

export function eraseConfirmation(drive: DriveInfo, image: ImageInfo): Omit<ConfirmRequest, 'id'> {
  return {
    title: 'Erase drive?',
    message: `Erase ${drive.description || drive.device} (${drive.device}, ${formatBytes(drive.size)}) and write ${image.name}?`,
    detail: 'Everything on this drive will be lost.',
    confirmLabel: 'Erase and flash',
    danger: true,
  };
}
