/** Command-line options of the browser host (`npm run web -- [options]`). */
import { EngineError } from '../engine/errors';

export interface HostOptions {
  /** 0 picks a free port. */
  port: number;
  /** List loop devices as drives (tests and development). */
  allowLoop: boolean;
  /** List real drives even when running as root (without it, root lists loop devices only). */
  allowRealDrives: boolean;
  /** Answer to every "Select image" when no one-shot answer is queued. */
  pick: string | null;
  /** Enables the token-protected test endpoints (POST /__test/pick). */
  test: boolean;
  /** Where "Save report" writes (null = the OS temp dir) and where reports of jobs whose page went away go (null = USER_DATA_DIR/reports). */
  saveDir: string | null;
  /** Settings live here; null = a fresh temporary directory. */
  userDataDir: string | null;
  /** Longest a card may take to answer one operation before it counts as stalled (null = the engine's 30 s). */
  ioTimeoutMs: number | null;
}

export const HOST_USAGE = `Usage: node dist/main/host.cjs [options]
  --port N             listen on 127.0.0.1:N (default: a free port)
  --allow-loop         list loop devices as drives
  --allow-real-drives  as root, list real drives too (root lists only loop devices
                       without it, and refuses to start without one of the two)
  --pick PATH          answer "Select image" with PATH
  --save-dir DIR       write saved reports to DIR (default: the temp dir), and the
                       reports of jobs whose page went away (default: the
                       reports folder in the user data dir)
  --user-data-dir DIR  keep settings in DIR (default: a fresh temp dir)
  --io-timeout SECONDS how long a card may take to answer before it counts as stalled (default 30)
  --test               enable the token-protected test endpoints`;

export function parseHostOptions(argv: readonly string[]): HostOptions {
  const options: HostOptions = { port: 0, allowLoop: false, allowRealDrives: false, pick: null, test: false, saveDir: null, userDataDir: null, ioTimeoutMs: null };
  const value = (index: number, flag: string): string => {
    const next = argv[index + 1];
    if (next === undefined || next.startsWith('--')) throw new EngineError('USAGE', `${flag} needs a value.\n${HOST_USAGE}`);
    return next;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    switch (flag) {
      case '--port': {
        const port = Number(value(i, flag));
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new EngineError('USAGE', `--port must be 0–65535, got ${argv[i + 1]}`);
        options.port = port;
        i += 1;
        break;
      }
      case '--allow-loop':
        options.allowLoop = true;
        break;
      case '--allow-real-drives':
        options.allowRealDrives = true;
        break;
      case '--test':
        options.test = true;
        break;
      case '--pick':
        options.pick = value(i, flag);
        i += 1;
        break;
      case '--save-dir':
        options.saveDir = value(i, flag);
        i += 1;
        break;
      case '--io-timeout': {
        const seconds = Number(value(i, flag));
        if (!Number.isFinite(seconds) || seconds < 1 || seconds > 3600) throw new EngineError('USAGE', `--io-timeout takes seconds between 1 and 3600, got ${argv[i + 1]}`);
        options.ioTimeoutMs = Math.round(seconds * 1000);
        i += 1;
        break;
      }
      case '--user-data-dir':
        options.userDataDir = value(i, flag);
        i += 1;
        break;
      default:
        throw new EngineError('USAGE', `Unknown option ${flag}.\n${HOST_USAGE}`);
    }
  }
  return options;
}

/** Which drives the host lists, from who runs it and its flags. */
export type DrivePolicy = { allowLoop: boolean; onlyLoopDevices: boolean; note: string | null };

/**
 * As root the host could erase any drive with no password prompt, and the page is only as safe as the
 * token: root lists loop devices only, unless --allow-real-drives says otherwise, and refuses to start
 * with neither --allow-loop nor --allow-real-drives (it would have nothing it may list).
 */
export function drivePolicy(options: Pick<HostOptions, 'allowLoop' | 'allowRealDrives'>, isRoot: boolean): DrivePolicy {
  if (!isRoot) return { allowLoop: options.allowLoop, onlyLoopDevices: false, note: null };
  if (options.allowRealDrives) {
    return { allowLoop: options.allowLoop, onlyLoopDevices: false, note: 'running as root with --allow-real-drives: every drive is listed and can be erased without a password prompt' };
  }
  if (!options.allowLoop) {
    throw new EngineError(
      'USAGE',
      'The browser host is running as root, so it could erase any drive without a password prompt. ' +
        'Start it with --allow-loop to list only loop devices (tests, demos), or --allow-real-drives to list real drives too.',
    );
  }
  return { allowLoop: true, onlyLoopDevices: true, note: 'running as root: only loop devices are listed (--allow-real-drives lists real drives too)' };
}
