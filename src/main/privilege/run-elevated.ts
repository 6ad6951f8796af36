/**
 * Starts the privileged helper for one rendezvous file through the OS elevation prompt (@vscode/sudo-prompt:
 * pkexec, or sudo's graphical front ends). The engine asks for it when a card main found not writable is
 * to be opened; the helper then connects to the engine itself. A refused prompt becomes ELEVATION_REFUSED.
 */
import { exec as sudoExec } from '@vscode/sudo-prompt';
import { EngineError } from '../engine/errors';
import { currentHelperCommand, type HelperCommand } from './helper-command';

/** Starts `command` with administrator rights; settles when that process ends (rejects on refusal/failure). */
export type ElevatedLauncher = (command: HelperCommand) => Promise<void>;

export interface LaunchHelperOptions {
  launch?: ElevatedLauncher;
  /** Builds the helper's command line for a rendezvous file (default: this program in Node mode). */
  command?: (file: string) => HelperCommand;
}

const PROMPT_REFUSED = 'User did not grant permission.';
const NO_AGENT = 'No polkit authentication agent found.';

/** The default launcher: the OS prompt through sudo-prompt. */
export const sudoPromptLauncher: ElevatedLauncher = ({ command, env }) =>
  new Promise((resolve, reject) => {
    const options = Object.keys(env).length > 0 ? { name: 'Sureflash', env } : { name: 'Sureflash' };
    sudoExec(command, options, (error) => (error ? reject(error) : resolve()));
  });

/** Turns a launcher failure into a coded error the user can act on. */
export function elevationError(err: unknown): EngineError {
  const message = err instanceof Error ? err.message : String(err);
  if (message.includes(PROMPT_REFUSED)) {
    return new EngineError('ELEVATION_REFUSED', 'Administrator rights were not granted, so nothing was written to the drive.');
  }
  if (message.includes(NO_AGENT)) {
    return new EngineError(
      'ELEVATION_REFUSED',
      'No password prompt is available (no polkit authentication agent is running). Start one, or run Sureflash with write access to the drive.',
    );
  }
  return new EngineError('ELEVATION_REFUSED', `The administrator helper could not be started: ${message}`);
}

/**
 * Starts the helper for `file` (written by the engine) and settles when it ended. Once the helper has
 * connected, how it ended is the engine's business; before, a failure here is why nothing was written.
 */
export async function launchHelper(file: string, options: LaunchHelperOptions = {}): Promise<void> {
  const launch = options.launch ?? sudoPromptLauncher;
  const command = (options.command ?? currentHelperCommand)(file);
  try {
    await launch(command);
  } catch (err) {
    throw elevationError(err);
  }
}
