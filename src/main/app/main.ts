/**
 * The Electron shell (dist/main/app.cjs): app lifecycle, one instance, the hardened window, the services
 * behind the one ipc wrapper, and the flash feedback outside the page (taskbar progress, notification,
 * confirm before quitting while a flash runs). `--allow-loop` lists loop devices (testing only).
 */
import { BrowserWindow, Notification, app, dialog, ipcMain, session, shell, type WebContents } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createApiCore } from '../services/api-core';
import { pushEvents } from './push-events';
import { registerApi, trustedSenderCheck } from './register-api';
import { createMainServices } from '../services/main-services';
import type { MainServices } from '../services/types';
import { electronConfirmFlash, electronConfirmStation, electronDialogs } from './dialogs';
import { createFlashFeedback } from './flash-feedback';
import { guardContents, guardSession, windowOptions } from './window';

const allowLoop = app.commandLine.hasSwitch('allow-loop') || process.argv.includes('--allow-loop');
const rendererUrl = pathToFileURL(join(app.getAppPath(), 'dist', 'renderer', 'index.html')).href;
const preloadPath = join(__dirname, 'preload.cjs');
let win: BrowserWindow | null = null;
/** Stands for the armed station among the running jobs (it is stopped, not cancelled by id). */
const STATION_JOB = 'station';
let quitting = false;

const log = (level: 'info' | 'warn' | 'error', message: string): void => {
  const line = `[sureflash] ${level}: ${message}\n`;
  if (level === 'info') process.stdout.write(line);
  else process.stderr.write(line);
};

const openExternal = (url: string): void => void shell.openExternal(url).catch(() => undefined);

function createWindow(): BrowserWindow {
  const window = new BrowserWindow(windowOptions(preloadPath));
  window.once('ready-to-show', () => window.show());
  window.on('closed', () => {
    if (win === window) win = null;
  });
  void window.loadURL(rendererUrl);
  return window;
}

/** Asks before closing while a flash runs; "Stop and quit" cancels every job and quits when they ended. */
function confirmCloseWhileFlashing(window: BrowserWindow, services: MainServices, running: () => string[]): void {
  window.on('close', (event) => {
    if (quitting || running().length === 0) return;
    event.preventDefault();
    void dialog
      .showMessageBox(window, {
        type: 'warning',
        buttons: ['Keep flashing', 'Stop and quit'],
        defaultId: 0,
        cancelId: 0,
        ...(running().includes(STATION_JOB)
          ? {
              title: 'The station is armed',
              message: 'The station is armed and may be flashing cards.',
              detail: 'If you quit now, the station stops, and a card it is flashing keeps a partial image: flash it again before use.',
            }
          : {
              title: 'A flash is running',
              message: 'A drive is being flashed.',
              detail: 'If you quit now, the drive keeps a partial image and will not start. Flash it again before use.',
            }),
      })
      .then(({ response }) => {
        if (response !== 1) return;
        quitting = true;
        const jobs = running();
        if (jobs.length === 0) return app.quit();
        const offs: (() => void)[] = [];
        const quitWhenIdle = (): void => {
          if (running().length > 0) return;
          offs.forEach((off) => off());
          app.quit();
        };
        offs.push(services.flash.subscribe(quitWhenIdle), services.station.subscribe(quitWhenIdle));
        jobs.forEach((jobId) => (jobId === STATION_JOB ? services.station.stop(true) : services.flash.cancel(jobId)));
      });
  });
}

function start(): void {
  app.on('web-contents-created', (_event, contents: WebContents) => guardContents(contents, rendererUrl, openExternal));
  guardSession(session.defaultSession);

  const services = createMainServices({
    allowLoop,
    userDataDir: app.getPath('userData'),
    log,
    confirmFlash: electronConfirmFlash(() => win),
    confirmStation: electronConfirmStation(() => win),
  });
  const core = createApiCore(services, electronDialogs(() => win, app.getPath('documents')), {
    onInternalError: (method, err) => log('error', `${method}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
  });
  registerApi(ipcMain, core, {
    isTrustedSender: trustedSenderCheck(() => win, rendererUrl),
    onRejected: (channel, url) => log('warn', `refused ${channel} from ${url ?? 'an unknown frame'}`),
  });

  const feedback = createFlashFeedback(
    () => win,
    async (title, body) => {
      if (!Notification.isSupported() || !(await services.settings.get()).notifications) return;
      new Notification({ title, body }).show();
    },
  );
  services.flash.subscribe((event) => feedback.handle(event));
  // An armed station counts as running: closing the window stops it and cancels its cards.
  const stationRuns = (): boolean => ['armed', 'stopping', 'cancelling'].includes(services.station.status().state);
  const running = (): string[] => [...(services.flash.running?.() ?? feedback.activeJobs()), ...(stationRuns() ? [STATION_JOB] : [])];

  win = createWindow();
  confirmCloseWhileFlashing(win, services, running);
  pushEvents(services, () => win);
  app.on('second-instance', () => {
    if (!win) return;
    if (win.isMinimized()) win.restore();
    win.focus();
  });
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('window-all-closed', () => app.quit());
  app.on('before-quit', (event) => {
    if (!quitting && win && !win.isDestroyed()) {
      // Route quitting through the window's close, so a running flash is confirmed first.
      event.preventDefault();
      win.close();
      return;
    }
    quitting = true;
  });
  void app.whenReady().then(start);
}
