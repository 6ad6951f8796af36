/**
 * Starts the browser host from its command line: real main services behind the api core, the renderer
 * and the WebSocket Api on 127.0.0.1, and exactly one line on stdout — the URL with its token.
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createApiCore } from '../services/api-core';
import type { MainServices } from '../services/types';
import { createHostDialogs } from './host-dialogs';
import { HOST_USAGE, parseHostOptions } from './host-options';
import { newToken } from './host-security';
import { startHostServer, type HostServer } from './host-server';

export type ServicesFactory = (options: { allowLoop: boolean; userDataDir: string }) => MainServices | Promise<MainServices>;

const log = (line: string): void => void process.stderr.write(`sureflash host: ${line}\n`);

/** The built renderer next to this bundle (dist/main/host.cjs -> dist/renderer). */
export function rendererDir(): string {
  return join(__dirname, '..', 'renderer');
}

export async function runHost(argv: readonly string[], makeServices: ServicesFactory): Promise<HostServer> {
  const parsed = parseHostOptions(argv);
  // Paths given on the command line are relative to where the host was started.
  const absolute = (path: string | null): string | null => (path === null ? null : resolve(path));
  const options = { ...parsed, pick: absolute(parsed.pick), saveDir: absolute(parsed.saveDir), userDataDir: absolute(parsed.userDataDir) };
  const staticDir = rendererDir();
  if (!existsSync(join(staticDir, 'index.html'))) {
    throw new Error(`The renderer is not built (${join(staticDir, 'index.html')} is missing): run \`npm run build\`.`);
  }
  const userDataDir = options.userDataDir ?? (await mkdtemp(join(tmpdir(), 'sureflash-web-')));
  const services = await makeServices({ allowLoop: options.allowLoop, userDataDir });
  const dialogs = createHostDialogs({ pick: options.pick, saveDir: options.saveDir });
  const core = createApiCore(services, dialogs, {
    onInternalError: (method, err) => log(`${method} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
  });
  const server = await startHostServer({
    core,
    services,
    dialogs,
    staticDir,
    token: newToken(),
    port: options.port,
    test: options.test,
    log,
  });
  process.stdout.write(`${server.url}\n`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
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
