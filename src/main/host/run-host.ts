/**
 * Starts the browser host from its command line: real main services behind the api core, the renderer
 * and the WebSocket Api on 127.0.0.1, and exactly one line on stdout — the URL with its token. Wires the
 * parts that make it safe: the drive policy for root, the in-page "Erase …?" question (asked of the page
 * that asked to flash), and the jobs that are cancelled when their page goes away.
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DriveInfo, ImageInfo, StationRequest } from '../../shared/api';
import { eraseConfirmation } from '../../shared/erase-confirmation';
import { stationConfirmation } from '../../shared/station-confirmation';
import { createApiCore } from '../services/api-core';
import type { MainServices } from '../services/types';
import { createCallContext } from './host-client';
import { createConfirmations } from './host-confirmations';
import { createConnectionHandler } from './host-connection';
import { createHostDialogs } from './host-dialogs';
import { createHostJobs } from './host-jobs';
import { createHostStation } from './host-station';
import { drivePolicy, HOST_USAGE, parseHostOptions } from './host-options';
import { newToken } from './host-security';
import { startHostServer, type HostServer } from './host-server';

export interface ServicesFactoryOptions {
  allowLoop: boolean;
  /** List loop devices only (root without --allow-real-drives). */
  onlyLoopDevices: boolean;
  userDataDir: string;
  /** The question before a drive is erased: asked in the page that asked to flash. */
  confirmFlash(drives: DriveInfo[], image: ImageInfo, mode: 'copy' | 'verify'): Promise<boolean>;
  /** The question before the station is armed: asked in the page that arms it. */
  confirmStation(request: StationRequest, imageName: string, present: DriveInfo[]): Promise<boolean>;
}

export type ServicesFactory = (options: ServicesFactoryOptions) => MainServices | Promise<MainServices>;

const log = (line: string): void => void process.stderr.write(`sureflash host: ${line}\n`);

/** The built renderer next to this bundle (dist/main/host.cjs -> dist/renderer). */
export function rendererDir(): string {
  return join(__dirname, '..', 'renderer');
}

const runningAsRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

export async function runHost(argv: readonly string[], makeServices: ServicesFactory): Promise<HostServer> {
  const parsed = parseHostOptions(argv);
  const policy = drivePolicy(parsed, runningAsRoot());
  // Paths given on the command line are relative to where the host was started.
  const absolute = (path: string | null): string | null => (path === null ? null : resolve(path));
  const options = { ...parsed, pick: absolute(parsed.pick), saveDir: absolute(parsed.saveDir), userDataDir: absolute(parsed.userDataDir) };
  const staticDir = rendererDir();
  if (!existsSync(join(staticDir, 'index.html'))) {
    throw new Error(`The renderer is not built (${join(staticDir, 'index.html')} is missing): run \`npm run build\`.`);
  }
  if (policy.note !== null) log(policy.note);
  const userDataDir = options.userDataDir ?? (await mkdtemp(join(tmpdir(), 'sureflash-web-')));
  const context = createCallContext();
  const confirmations = createConfirmations({ log });
  const services = await makeServices({
    allowLoop: policy.allowLoop,
    onlyLoopDevices: policy.onlyLoopDevices,
    userDataDir,
    ...(options.ioTimeoutMs !== null ? { ioTimeoutMs: options.ioTimeoutMs } : {}),
    confirmFlash: (drives, image, mode) => confirmations.ask(context.current(), eraseConfirmation(drives, image, mode)),
    confirmStation: (request, imageName, present) => confirmations.ask(context.current(), stationConfirmation(request, imageName, present)),
  });
  const dialogs = createHostDialogs({ pick: options.pick, saveDir: options.saveDir });
  const core = createApiCore(services, dialogs, {
    onInternalError: (method, err) => log(`${method} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
    answerConfirm: (id, accepted) => confirmations.answer(context.current(), id, accepted),
  });
  const reportDir = options.saveDir ?? join(userDataDir, 'reports');
  const jobs = createHostJobs({ flash: services.flash, reportDir, log });
  const station = createHostStation({ station: services.station, log });
  const server = await startHostServer({
    dialogs,
    onConnection: createConnectionHandler({ core, drives: services.drives, jobs, station, confirmations, context, log }),
    staticDir,
    token: newToken(),
    port: options.port,
    test: options.test,
    log,
  });
  process.stdout.write(`${server.url}\n`);
  // Stopping closes every page, which cancels their flashes cleanly; the host exits once they ended and
  // their reports are written. A second signal stops at once.
  let stopping = false;
  const stop = (exitCode: number): void => {
    if (stopping) {
      log('stopping at once: a flash still running leaves its drive with a partial image');
      process.exit(exitCode || 1);
    }
    stopping = true;
    const running = services.flash.running?.() ?? [];
    if (running.length > 0) log(`stopping: cancelling ${running.length} running flash(es); reports go to ${reportDir} (signal again to stop at once)`);
    void server
      .close()
      .then(() => Promise.all([jobs.idle(), station.idle()]))
      .then(() => process.exit(exitCode));
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  // A bug must not leave a card half written with no report: log it, cancel what runs, write the reports, exit 1.
  process.on('uncaughtException', (err) => {
    log(`internal error: ${err.stack ?? err.message}`);
    if (!stopping) stop(1);
  });
  return server;
}

/** Runs the host and turns a start-up failure into one readable line and exit code 1 (2 for usage). */
export function main(argv: readonly string[], makeServices: ServicesFactory): void {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${HOST_USAGE}\n`);
    return;
  }
  runHost(argv, makeServices).catch((err: unknown) => {
    const code = typeof err === 'object' && err !== null && 'code' in err ? (err as { code: unknown }).code : null;
    if (code === 'EADDRINUSE') log('That port is already in use: choose another with --port N, or leave --port out to get a free one.');
    else log(err instanceof Error ? err.message : String(err));
    process.exit(code === 'USAGE' ? 2 : 1);
  });
}
