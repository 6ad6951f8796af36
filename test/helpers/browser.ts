/**
 * Real-browser test helpers: build the bundles once, start the browser host (`dist/main/host.cjs`) and read
 * its one URL line, and launch Debian's Chromium headless with a fresh profile (never a downloaded browser).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const CHROMIUM = process.env.SUREFLASH_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots of every run, kept as CI artifacts (git-ignored; the README names the folder). */
export const artifactsDir = join(repoRoot, 'test-artifacts', 'screenshots');

export const chromiumAvailable = (): boolean => existsSync(CHROMIUM);

let built = false;
/** Runs `node scripts/build.mjs` once per test process, so tests exercise the bundles a user runs. */
export function buildOnce(): void {
  if (built) return;
  // Vitest sets NODE_ENV=test, which would make vite build React's development bundle: build what ships.
  const env = { ...process.env, NODE_ENV: 'production' };
  const result = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, env, encoding: 'utf8', timeout: 300_000 });
  if (result.status !== 0) throw new Error(`build failed:\n${result.stdout}\n${result.stderr}`);
  built = true;
}

export interface RunningHost {
  /** The URL the host printed (with its token). */
  url: string;
  origin: string;
  port: number;
  token: string;
  process: ChildProcess;
  /** Queues the answer to the next "Select image" (needs --test). */
  pick(path: string | null): Promise<void>;
  /** Everything the host wrote to stderr so far. */
  stderr(): string;
  /** What the host wrote to stdout after its URL line (should stay empty). */
  extraStdout(): string;
  stop(): Promise<void>;
}

/**
 * Starts `node dist/main/host.cjs ...args` (as another user with `as`; with `env` added to this process's
 * environment, e.g. GNUPGHOME for the keyring) and resolves once it printed its URL.
 */
export function startHost(args: string[], timeoutMs = 30_000, as: { uid: number; gid: number } | null = null, env: NodeJS.ProcessEnv = {}): Promise<RunningHost> {
  const child = spawn(process.execPath, [join(repoRoot, 'dist/main/host.cjs'), ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    ...(as ?? {}),
  });
  let out = '';
  let err = '';
  let started = false;
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`the host printed no URL within ${timeoutMs} ms; stderr:\n${err}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the host exited (${code}) before printing its URL; stderr:\n${err}`));
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const newline = out.indexOf('\n');
      if (newline < 0 || started) return;
      started = true;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const url = new URL(out.slice(0, newline).trim());
      const token = url.searchParams.get('token') ?? '';
      resolve({
        url: url.href,
        origin: url.origin,
        port: Number(url.port),
        token,
        process: child,
        async pick(path) {
          const res = await fetch(`${url.origin}/__test/pick`, { method: 'POST', body: path ?? '', headers: { authorization: `Bearer ${token}` } });
          if (res.status !== 204) throw new Error(`POST /__test/pick answered ${res.status}: ${await res.text()}`);
        },
        stderr: () => err,
        extraStdout: () => out.slice(newline + 1),
        stop,
      });
    });
  });
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless Debian Chromium (1000x720, the app's default window, unless told) with a fresh, throw-away profile. */
export async function launchBrowser(options: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'sureflash-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: options.viewport ?? { width: 1000, height: 720 },
    colorScheme: options.colorScheme ?? 'light',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Path for a screenshot under test-artifacts/screenshots (the folder is created). */
export function artifactPath(name: string): string {
  mkdirSync(artifactsDir, { recursive: true });
  return join(artifactsDir, name);
}
