/**
 * Where the app keeps its data, computed the way Electron computes app.getPath('userData') for this app
 * (package.json "name" is "sureflash" and there is no productName, so Electron's folder is appData/sureflash),
 * so the CLI and the app share one history. The app passes userData itself; the CLI uses appDataDir().
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** The folder name Electron derives from package.json. */
export const APP_DIR_NAME = 'sureflash';

/** The history database's file name inside the data folder. */
export const HISTORY_FILE = 'history.sqlite';

export interface DataDirContext {
  platform: NodeJS.Platform;
  env: Record<string, string | undefined>;
  home: string;
}

const current = (): DataDirContext => ({ platform: process.platform, env: process.env, home: homedir() });

/**
 * Electron's appData + "sureflash": Linux (and other Unixes) $XDG_CONFIG_HOME or ~/.config, macOS
 * ~/Library/Application Support, Windows %APPDATA%. A relative XDG_CONFIG_HOME is ignored, as the XDG
 * spec says.
 */
export function appDataDir(context: DataDirContext = current()): string {
  const { platform, env, home } = context;
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', APP_DIR_NAME);
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), APP_DIR_NAME);
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, '.config'), APP_DIR_NAME);
}

/** The history database in a data folder (the app's userData, or appDataDir()). */
export function historyFile(dataDir: string): string {
  return join(dataDir, HISTORY_FILE);
}
