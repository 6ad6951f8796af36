/**
 * The command line that starts the privileged helper: the same program in Node mode. Packaged Electron
 * runs `ELECTRON_RUN_AS_NODE=1 <app executable> <helper.cjs> <file> <uid>`; a development checkout runs
 * `node <helper.cjs> <file> <uid>`. Only the rendezvous file's path and the asking user's uid are passed,
 * never the token. Which helper runs is fixed by where this bundle lies, never by the environment.
 */
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import { EngineError } from '../engine/errors';

export interface HelperCommand {
  /** One shell command line, every part quoted. */
  command: string;
  /** Extra environment for the elevated process (Windows only; see buildHelperCommand). */
  env: Record<string, string>;
}

export interface HelperCommandOptions {
  execPath: string;
  helperPath: string;
  /** True under Electron (process.versions.electron): the executable needs ELECTRON_RUN_AS_NODE. */
  electron: boolean;
  platform: NodeJS.Platform;
  /** The uid of the user asking (the owner the helper expects of the rendezvous); absent on Windows. */
  uid?: number | null;
}

const UNSAFE_POSIX = /[$`\\"\r\n\0]/;
const UNSAFE_WINDOWS = /["%\r\n\0]/;

/**
 * Quotes one argument for the shell that runs the elevated command. On Unix, sudo-prompt wraps the whole
 * command in double quotes for an outer shell, so characters that shell would still expand ($ ` \ ") are
 * refused rather than escaped twice; Windows runs it from a batch file, where % and " are refused.
 */
export function quoteArg(arg: string, platform: NodeJS.Platform): string {
  if ((platform === 'win32' ? UNSAFE_WINDOWS : UNSAFE_POSIX).test(arg)) {
    throw new EngineError(
      'INTERNAL',
      `Cannot start the administrator helper from ${arg}: move Sureflash to a folder without special characters.`,
    );
  }
  return platform === 'win32' ? `"${arg}"` : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The helper's command line. On Unix the Node-mode switch is part of the command itself, because pkexec
 * and sudo start the program with a clean environment; on Windows it travels as sudo-prompt's env.
 */
export function buildHelperCommand(file: string, options: HelperCommandOptions): HelperCommand {
  const args = [options.execPath, options.helperPath, file, ...(options.uid === undefined || options.uid === null ? [] : [String(options.uid)])];
  const line = args.map((arg) => quoteArg(arg, options.platform)).join(' ');
  if (!options.electron) return { command: line, env: {} };
  if (options.platform === 'win32') return { command: line, env: { ELECTRON_RUN_AS_NODE: '1' } };
  return { command: `ELECTRON_RUN_AS_NODE=1 ${line}`, env: {} };
}

/**
 * The helper bundle: next to this bundle in dist/main (outside app.asar when unpacked), or dist/main from a
 * source checkout (tests).
 */
export function helperScriptPath(): string {
  const unpacked = (file: string): string => file.replace(`${sep}app.asar${sep}`, `${sep}app.asar.unpacked${sep}`);
  const candidates = [
    unpacked(join(__dirname, 'helper.cjs')),
    join(__dirname, 'helper.cjs'),
    join(__dirname, '..', '..', '..', 'dist', 'main', 'helper.cjs'),
  ];
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
    uid: typeof process.getuid === 'function' ? process.getuid() : null,
  });
}
