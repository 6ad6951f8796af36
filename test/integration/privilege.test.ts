import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlashJob } from '../../src/main/engine/protocol';
import { buildHelperCommand, type HelperCommand } from '../../src/main/privilege/helper-command';
import { openRendezvous } from '../../src/main/privilege/rendezvous';
import { runElevated, type ElevatedLauncher } from '../../src/main/privilege/run-elevated';

// The helper bundle is what a user runs: build it first (`node scripts/build.mjs`).
const root = join(__dirname, '..', '..');
const helperPath = join(root, 'dist', 'main', 'helper.cjs');
const work = mkdtempSync(join(tmpdir(), 'sureflash-privilege-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Starts the helper without elevation: the same command line sudo-prompt would run, through sh. */
const childLauncher =
  (seen: HelperCommand[] = []): ElevatedLauncher =>
  (command) =>
    new Promise((resolve, reject) => {
      seen.push(command);
      const child = spawn('sh', ['-c', command.command], { env: { ...process.env, ...command.env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`helper exited ${code}: ${stderr}`))));
    });
const nodeCommand = (file: string) => buildHelperCommand(file, { execPath: process.execPath, helperPath, electron: false, platform: process.platform });

const job = (target: string): FlashJob => ({ mode: 'copy', image: join(work, 'image.img'), targets: [{ path: target }], readback: true, verifySource: true, retries: 1 });

function connectAndSend(socketPath: string, line: string): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.once('connect', () => {
      socket.write(`${line}\n`);
      resolve({ socket, closed });
    });
    socket.once('error', reject);
  });
}

beforeAll(() => {
  if (!existsSync(helperPath)) throw new Error('dist/main/helper.cjs is missing: run `node scripts/build.mjs` first');
  writeFileSync(join(work, 'image.img'), Buffer.alloc(64 * 1024, 7));
});

describe('rendezvous channel', () => {
  it('keeps the token in a private 0600 file inside a 0700 directory, never on the command line', async () => {
    const rendezvous = await openRendezvous({ onMessage: () => undefined, onClose: () => undefined });
    try {
      expect(statSync(rendezvous.file).mode & 0o777).toBe(0o600);
      expect(statSync(dirname(rendezvous.file)).mode & 0o777).toBe(0o700);
      const { token, socketPath } = JSON.parse(readFileSync(rendezvous.file, 'utf8'));
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      expect(statSync(socketPath).isSocket()).toBe(true);
      expect(nodeCommand(rendezvous.file).command).not.toContain(token);
    } finally {
      await rendezvous.close();
    }
    expect(existsSync(rendezvous.file)).toBe(false);
  });

  it('disconnects a client with a wrong token and refuses the job; later clients are refused too', async () => {
    const rendezvous = await openRendezvous({ onMessage: () => undefined, onClose: () => undefined });
    const { socketPath, token } = JSON.parse(readFileSync(rendezvous.file, 'utf8'));
    const wrong = await connectAndSend(socketPath, JSON.stringify({ type: 'auth', token: token.replace(/^./, (c: string) => (c === 'a' ? 'b' : 'a')) }));
    await wrong.closed;
    await expect(rendezvous.helper).rejects.toThrow(/could not be trusted/);
    // The server stopped listening: the rightful token gets nowhere now.
    await expect(connectAndSend(socketPath, JSON.stringify({ type: 'auth', token }))).rejects.toThrow();
    await rendezvous.close();
  });

  it('accepts the client with the right token and passes its later lines on', async () => {
    const received: unknown[] = [];
    const rendezvous = await openRendezvous({ onMessage: (m) => received.push(m), onClose: () => undefined });
    const { socketPath, token } = JSON.parse(readFileSync(rendezvous.file, 'utf8'));
    const client = await connectAndSend(socketPath, `${JSON.stringify({ type: 'auth', token })}\n${JSON.stringify({ type: 'log', seq: 1 })}`);
    await rendezvous.helper;
    while (received.length === 0) await new Promise((r) => setTimeout(r, 10));
    expect(received).toEqual([{ type: 'log', seq: 1 }]);
    client.socket.destroy();
    await rendezvous.close();
  });
});

describe('helper command line', () => {
  const base = { execPath: '/opt/Sure Flash/sureflash', helperPath: "/opt/Sure Flash/it's/helper.cjs" };
  it('puts the Node-mode switch inline on Unix (pkexec clears the environment) and in env on Windows', () => {
    const unix = buildHelperCommand('/tmp/x/rendezvous.json', { ...base, electron: true, platform: 'linux' });
    expect(unix).toEqual({
      command: `ELECTRON_RUN_AS_NODE=1 '/opt/Sure Flash/sureflash' '/opt/Sure Flash/it'\\''s/helper.cjs' '/tmp/x/rendezvous.json'`,
      env: {},
    });
    const win = buildHelperCommand('C:\\Temp\\r.json', { execPath: 'C:\\Sureflash\\Sureflash.exe', helperPath: 'C:\\h.cjs', electron: true, platform: 'win32' });
    expect(win).toEqual({ command: '"C:\\Sureflash\\Sureflash.exe" "C:\\h.cjs" "C:\\Temp\\r.json"', env: { ELECTRON_RUN_AS_NODE: '1' } });
    expect(buildHelperCommand('/f', { ...base, electron: false, platform: 'linux' }).command.startsWith("'/opt")).toBe(true);
  });

  it('refuses paths the outer shell would expand', () => {
    for (const bad of ['/opt/$HOME/x', '/opt/`id`/x', '/opt/a\\b', '/opt/a"b']) {
      expect(() => buildHelperCommand('/f', { ...base, execPath: bad, electron: true, platform: 'linux' })).toThrow(/special characters/);
    }
    expect(() => buildHelperCommand('/f', { ...base, execPath: 'C:\\%TEMP%\\x.exe', electron: true, platform: 'win32' })).toThrow();
  });
});

describe('runElevated', () => {
  it('reports a refused prompt as ELEVATION_REFUSED (sudo-prompt faked at the edge)', async () => {
    const refused: ElevatedLauncher = async () => {
      throw new Error('User did not grant permission.');
    };
    const run = runElevated(job('/dev/null'), {}, { launch: refused, command: nodeCommand });
    await expect(run.done).rejects.toMatchObject({ code: 'ELEVATION_REFUSED', message: expect.stringMatching(/not granted/) });
  });

  it('explains a missing polkit agent', async () => {
    const noAgent: ElevatedLauncher = async () => {
      throw new Error('No polkit authentication agent found.');
    };
    const run = runElevated(job('/dev/null'), {}, { launch: noAgent, command: nodeCommand });
    await expect(run.done).rejects.toMatchObject({ code: 'ELEVATION_REFUSED', message: expect.stringMatching(/polkit/) });
  });

  it('cancels while the prompt is still open', async () => {
    const pending: ElevatedLauncher = () => new Promise(() => undefined);
    const run = runElevated(job('/dev/null'), {}, { launch: pending, command: nodeCommand });
    run.cancel();
    await expect(run.done).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('the real helper refuses a regular file as target, and deletes its rendezvous file', async () => {
    const seen: HelperCommand[] = [];
    const file = join(work, 'not-a-device.img');
    writeFileSync(file, Buffer.alloc(1024 * 1024));
    // The packaged form of the command line (inline ELECTRON_RUN_AS_NODE=1), with node standing in for the app.
    const packagedForm = (f: string) => buildHelperCommand(f, { execPath: process.execPath, helperPath, electron: true, platform: process.platform });
    const run = runElevated(job(file), {}, { launch: childLauncher(seen), command: packagedForm });
    await expect(run.done).rejects.toMatchObject({ code: 'TARGET_INVALID' });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.command).toContain(helperPath);
    const fileArg = seen[0]!.command.split(' ').at(-1)!.replace(/'/g, '');
    expect(existsSync(fileArg)).toBe(false);
    expect(readFileSync(file).every((b) => b === 0)).toBe(true);
  });

  it('the real helper refuses a target that does not exist', async () => {
    const run = runElevated(job(join(work, 'no-such-device')), {}, { launch: childLauncher(), command: nodeCommand });
    await expect(run.done).rejects.toMatchObject({ code: 'TARGET_NOT_FOUND' });
  });
});
