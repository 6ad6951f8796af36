/** The OS dialogs behind Dialogs (image picker, report save location), attached to our window. */
import { dialog, type BrowserWindow } from 'electron';
import { join } from 'node:path';
import type { DriveInfo, ImageInfo, StationRequest } from '../../shared/api';
import { CANCEL_LABEL, eraseConfirmation } from '../../shared/erase-confirmation';
import { stationConfirmation } from '../../shared/station-confirmation';
import type { Dialogs } from '../services/types';

/** Image types the picker offers first; "All files" stays available. */
export const IMAGE_EXTENSIONS = ['img', 'iso', 'raw', 'bin', 'wic', 'gz', 'xz', 'zst', 'bz2', 'zip'];

export function electronDialogs(getWindow: () => BrowserWindow | null, documentsDir: string): Dialogs {
  return {
    pickImage: async () => {
      const win = getWindow();
      const options: Electron.OpenDialogOptions = {
        title: 'Choose an OS image',
        properties: ['openFile'],
        filters: [
          { name: 'OS images', extensions: IMAGE_EXTENSIONS },
          { name: 'All files', extensions: ['*'] },
        ],
      };
      const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
    saveReportPath: async (defaultName) => {
      const win = getWindow();
      const options: Electron.SaveDialogOptions = {
        title: 'Save flash report',
        defaultPath: join(documentsDir, defaultName),
        filters: [{ name: 'JSON report', extensions: ['json'] }],
      };
      const result = win ? await dialog.showSaveDialog(win, options) : await dialog.showSaveDialog(options);
      return result.canceled || !result.filePath ? null : result.filePath;
    },
  };
}

/** One of main's own questions in a native dialog: Cancel first and default, true only for the confirm button. */
async function askNative(
  win: BrowserWindow | null,
  question: { title: string; message: string; detail: string; confirmLabel: string },
  type: 'warning' | 'question',
): Promise<boolean> {
  const options: Electron.MessageBoxOptions = {
    type,
    buttons: [CANCEL_LABEL, question.confirmLabel],
    defaultId: 0,
    cancelId: 0,
    title: question.title,
    message: question.message,
    detail: question.detail,
  };
  const { response } = win ? await dialog.showMessageBox(win, options) : await dialog.showMessageBox(options);
  return response === 1;
}

/** Main's own question before the station is armed (words shared with the browser host). */
export function electronConfirmStation(
  getWindow: () => BrowserWindow | null,
): (request: StationRequest, imageName: string, present: DriveInfo[]) => Promise<boolean> {
  return async (request, imageName, present) => {
    return askNative(getWindow(), stationConfirmation(request, imageName, present), 'warning');
  };
}

/** Main's own "erase this drive?" question, so a renderer alone can never start a flash (words shared with the browser host). */
export function electronConfirmFlash(
  getWindow: () => BrowserWindow | null,
): (drives: DriveInfo[], image: ImageInfo, mode: 'copy' | 'verify') => Promise<boolean> {
  return async (drives, image, mode) => {
    const question = eraseConfirmation(drives, image, mode);
    return askNative(getWindow(), question, question.danger ? 'warning' : 'question');
  };
}
