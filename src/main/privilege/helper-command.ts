/**
 * The command line that starts the privileged helper: the same program in Node mode. Packaged Electron
 * runs `<app executable> <helper.cjs> <file>` with ELECTRON_RUN_AS_NODE=1; a development checkout runs
 * `node <helper.cjs> <file>`. Only the rendezvous file's path is passed, never the token.
 */
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import { EngineError } from '../engine/errors';

export interface HelperCommand {
  /** One shell command line, every part quoted. */
  command: string;
  /** Extra environment for the elevated process. */
  env: Record<string, string>;
}

export interface HelperCommandOptions {
  execPath: string;
  helperPath: string;
  /** True under Electron (process.versions.electron): the executable needs ELECTRON_RUN_AS_NODE. */
  electron: boolean;
  platform: NodeJS.Platform;
}

/** Quotes one argument for the shell that runs the elevated command (sh on Unix, cmd on Windows). */
export function quoteArg(arg: string, platform: NodeJS.Platform): string {
  if (platform === 'win32') {
    if (/["%\r\n]/.test(arg)) throw new EngineError('INTERNAL', `Cannot pass ${arg} to the administrator helper.`);
    return `"${arg}"`;
  }
  if (/[\0\r\n]/.test(arg)) throw new EngineError('INTERNAL', `Cannot pass ${arg} to the administrator helper.`);
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function buildHelperCommand(file: string, options: HelperCommandOptions): HelperCommand {
  const parts = [options.execPath, options.helperPath, file].map((arg) => quoteArg(arg, options.platform));
  return { command: parts.join(' '), env: options.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {} };
}

/**
 * The helper bundle: next to this bundle in dist/main (outside app.asar when unpacked), or dist/main from a
 * source checkout (tests).
 */
export function helperScriptPath(): string {
  const override = process.env.SUREFLASH_HELPER;
  if (override) return override;
  const unpacked = (dir: string): string => dir.replace(`${sep}app.asar${sep}`, `${sep}app.asar.unpacked${sep}`);
  const candidates = [unpacked(join(__dirname, 'helper.cjs')), join(__dirname, 'helper.cjs'), join(__dirname, '..', '..', '..', 'dist', 'main', 'helper.cjs')];
  const found = candidates.find((file) => existsSync(file));
  if (!found) throw new EngineError('INTERNAL', 'The administrator helper is not built: run `npm run build`.');
  return found;
}

/** The command for this process: Electron's executable in Node mode when packaged, else this Node. */
export function currentHelperCommand(file: string): HelperCommand {
  return buildHelperCommand(file, {
    execPath: process.execPath,
    helperPath: helperScriptPath(),
    electron: Boolean(process.versions.electron),
    platform: process.platform,
  });
}
