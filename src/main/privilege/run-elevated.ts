/**
 * Runs one engine job in the privileged helper, started through the OS elevation prompt
 * (@vscode/sudo-prompt), and exposes it like an in-process job: the same handlers, cancel, and a `done`
 * promise with the report. A refused prompt becomes ELEVATION_REFUSED.
 */
import { exec as sudoExec } from '@vscode/sudo-prompt';
import type { Socket } from 'node:net';
import type { BatchReport } from '../../shared/report';
import { isErrorCode } from '../../shared/errors';
import { EngineError } from '../engine/errors';
import type { FlashJob, FromWorker } from '../engine/protocol';
import type { EngineJobHandlers } from '../engine/worker-client';
import { currentHelperCommand, type HelperCommand } from './helper-command';
import type { ToHelper } from './helper-messages';
import { sendLine } from './line-channel';
import { openRendezvous } from './rendezvous';

/** Starts `command` with administrator rights; settles when that process ends (rejects on refusal/failure). */
export type ElevatedLauncher = (command: HelperCommand) => Promise<void>;

export interface RunElevatedOptions {
  launch?: ElevatedLauncher;
  /** Builds the helper's command line for a rendezvous file (default: this program in Node mode). */
  command?: (file: string) => HelperCommand;
}

export interface ElevatedRun {
  cancel(target?: number): void;
  readonly done: Promise<BatchReport>;
}

const PROMPT_REFUSED = 'User did not grant permission.';
const NO_AGENT = 'No polkit authentication agent found.';

/** The default launcher: the OS prompt through sudo-prompt. */
export const sudoPromptLauncher: ElevatedLauncher = ({ command, env }) =>
  new Promise((resolve, reject) => {
    const options = Object.keys(env).length > 0 ? { name: 'Sureflash', env } : { name: 'Sureflash' };
    sudoExec(command, options, (error) => (error ? reject(error) : resolve()));
  });

/** Turns a launcher failure (before the helper connected) into a coded error the user can act on. */
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

function isFromWorker(value: unknown): value is FromWorker {
  const type = (value as { type?: unknown } | null)?.type;
  return typeof value === 'object' && value !== null && ['started', 'progress', 'target-done', 'log', 'done', 'error'].includes(type as string);
}

export function runElevated(job: FlashJob, handlers: EngineJobHandlers = {}, options: RunElevatedOptions = {}): ElevatedRun {
  const launch = options.launch ?? sudoPromptLauncher;
  const command = options.command ?? currentHelperCommand;
  let helper: Socket | null = null;
  let cancelled = false;
  let settled = false;
  let close: () => Promise<void> = async () => undefined;
  let resolveDone!: (report: BatchReport) => void;
  let rejectDone!: (err: EngineError) => void;
  const done = new Promise<BatchReport>((resolve, reject) => ((resolveDone = resolve), (rejectDone = reject)));

  const finish = (outcome: { report: BatchReport } | { error: EngineError }): void => {
    if (settled) return;
    settled = true;
    void close();
    if ('report' in outcome) resolveDone(outcome.report);
    else rejectDone(outcome.error);
  };

  const onMessage = (message: unknown): void => {
    if (!isFromWorker(message)) return;
    handlers.onMessage?.(message);
    switch (message.type) {
      case 'started':
        return handlers.onStarted?.(message.layout);
      case 'progress':
        return handlers.onProgress?.(message.target, message.progress);
      case 'target-done':
        return handlers.onTargetDone?.(message.target, message.report);
      case 'log':
        return handlers.onLog?.(message.level, message.message);
      case 'done':
        return finish({ report: message.report });
      case 'error': {
        const code = isErrorCode(message.error?.code) ? message.error.code : 'INTERNAL';
        return finish({ error: new EngineError(code, String(message.error?.message ?? 'the helper failed')) });
      }
    }
  };

  const begin = async (): Promise<void> => {
    const rendezvous = await openRendezvous({
      onMessage,
      onClose: () => finish({ error: new EngineError('INTERNAL', 'The administrator helper stopped before it reported; the drive may hold a partial image.') }),
    });
    close = rendezvous.close;
    if (settled) return void close();
    launch(command(rendezvous.file)).then(
      () => {
        if (!helper) finish({ error: new EngineError('ELEVATION_REFUSED', 'The administrator helper ended without connecting; nothing was written.') });
      },
      (err: unknown) => {
        if (!helper) finish({ error: elevationError(err) });
      },
    );
    const socket = await rendezvous.helper;
    helper = socket;
    if (cancelled) {
      finish({ error: new EngineError('CANCELLED', 'Cancelled before writing started; the drive was not changed.') });
      return;
    }
    sendLine(socket, { type: 'job', job } satisfies ToHelper);
  };

  begin().catch((err: unknown) => finish({ error: err instanceof EngineError ? err : new EngineError('INTERNAL', String(err)) }));

  return {
    cancel: () => {
      if (settled || cancelled) return;
      cancelled = true;
      if (helper) sendLine(helper, { type: 'cancel' } satisfies ToHelper);
      else finish({ error: new EngineError('CANCELLED', 'Cancelled before writing started; the drive was not changed.') });
    },
    done,
  };
}
