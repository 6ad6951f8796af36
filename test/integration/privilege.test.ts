import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SharedArena } from '../../src/main/engine/chunk/shared-arena';
import type { DevicePin } from '../../src/main/engine/device/device-pin';
import { openRendezvous } from '../../src/main/engine/device/rendezvous';
import { openRemoteTarget, type Elevate } from '../../src/main/engine/device/remote-target';
import { controlFrame } from '../../src/main/engine/device/device-wire';
import { buildHelperCommand } from '../../src/main/privilege/helper-command';
import { launchHelper, type ElevatedLauncher } from '../../src/main/privilege/run-elevated';
import { nodeCommand, requireHelperBuilt, startHelper } from '../helpers/helper-process';

// The channel between the engine and the privileged helper, without devices: the rendezvous, the engine's
// side refusing what is not the helper, the command line, the launcher's errors, and the real helper
// (dist/main/helper.cjs, build first) refusing what it cannot serve.
const pin: DevicePin = { path: '/dev/sdx', mode: 'copy', rdev: 2064, size: 8 * 1024 * 1024, diskseq: null, model: null, serial: null, backingFile: null };

function connectAndSend(socketPath: string, data: Buffer): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.once('connect', () => {
      socket.write(data);
      resolve({ socket, closed });
    });
    socket.once('error', reject);
  });
}

/** An "elevation" that connects a client of the test's own to the rendezvous and sends `data`. */
const impostor =
  (data: (token: string) => Buffer, seen: { closed?: Promise<void> } = {}): Elevate =>
  async (file) => {
    const { socketPath, token } = JSON.parse(readFileSync(file, 'utf8'));
    const client = await connectAndSend(socketPath, data(token));
    seen.closed = client.closed;
    await new Promise(() => undefined); // the "helper" keeps running
  };

const open = (elevate: Elevate, signal?: AbortSignal) =>
  openRemoteTarget({ pin, arena: new SharedArena(1 << 20), timeoutMs: 5000, writeCache: null, elevate, authTimeoutMs: 2000, ...(signal ? { signal } : {}) });

describe('rendezvous', () => {
  it('keeps the token in a private 0600 file inside a 0700 directory, with a 0600 socket, never on the command line', async () => {
    const rendezvous = await openRendezvous();
    try {
      expect(statSync(rendezvous.file).mode & 0o777).toBe(0o600);
      expect(statSync(dirname(rendezvous.file)).mode & 0o777).toBe(0o700);
      const { token, socketPath } = JSON.parse(readFileSync(rendezvous.file, 'utf8'));
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      expect(token).toBe(rendezvous.token);
      expect(statSync(socketPath).isSocket()).toBe(true);
      expect(statSync(socketPath).mode & 0o777).toBe(0o600);
      expect(nodeCommand(rendezvous.file).command).not.toContain(token);
    } finally {
      await rendezvous.close();
    }
    expect(existsSync(rendezvous.file)).toBe(false);
  });
});

describe("the engine's end: only the helper that proves the token", () => {
  it('refuses a wrong token', async () => {
    const seen: { closed?: Promise<void> } = {};
    await expect(open(impostor((token) => controlFrame({ type: 'auth', token: token.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) }), seen))).rejects.toMatchObject({
      code: 'ELEVATION_REFUSED',
      message: expect.stringMatching(/could not be trusted \(wrong token\); nothing was written/),
    });
    await seen.closed;
  });

  it('refuses an oversized first message from its header, before reading it', async () => {
    const header = Buffer.alloc(12);
    header.writeUInt32LE(1, 0);
    header.writeUInt32LE(1024 * 1024, 4);
    await expect(open(impostor(() => header))).rejects.toMatchObject({
      code: 'ELEVATION_REFUSED',
      message: expect.stringMatching(/a message of 1048576 bytes is too long \(at most 4096 here\)/),
    });
  });

  it('refuses a client that does not identify itself in time', async () => {
    await expect(open(impostor(() => Buffer.alloc(0)))).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/did not identify itself/) });
  });

  it('a helper that ends without connecting, or a refused prompt, fails the open', async () => {
    await expect(open(async () => undefined)).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/ended without connecting; nothing was written/) });
    const refused: ElevatedLauncher = async () => {
      throw new Error('User did not grant permission.');
    };
    await expect(open((file) => launchHelper(file, { launch: refused }))).rejects.toMatchObject({ code: 'ELEVATION_REFUSED', message: expect.stringMatching(/not granted/) });
  });

  it('cancels while the prompt is still open', async () => {
    const controller = new AbortController();
    const opening = open(() => new Promise(() => undefined), controller.signal);
    controller.abort();
    await expect(opening).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('launching the helper', () => {
  const base = { execPath: '/opt/Sure Flash/sureflash', helperPath: "/opt/Sure Flash/it's/helper.cjs" };

  it('puts the Node-mode switch inline on Unix (pkexec clears the environment) and in env on Windows; the uid last', () => {
    const unix = buildHelperCommand('/tmp/x/rendezvous.json', { ...base, electron: true, platform: 'linux', uid: 1000 });
    expect(unix).toEqual({
      command: `ELECTRON_RUN_AS_NODE=1 '/opt/Sure Flash/sureflash' '/opt/Sure Flash/it'\\''s/helper.cjs' '/tmp/x/rendezvous.json' '1000'`,
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

  it('no environment variable chooses which helper runs', () => {
    const before = process.env.SUREFLASH_HELPER;
    process.env.SUREFLASH_HELPER = '/tmp/evil.cjs';
    try {
      expect(nodeCommand('/tmp/x/rendezvous.json').command).not.toContain('evil');
    } finally {
      if (before === undefined) delete process.env.SUREFLASH_HELPER;
      else process.env.SUREFLASH_HELPER = before;
    }
  });

  it('explains a refused prompt and a missing polkit agent', async () => {
    const fails = (message: string): ElevatedLauncher => async () => {
      throw new Error(message);
    };
    await expect(launchHelper('/f', { launch: fails('User did not grant permission.'), command: nodeCommand })).rejects.toMatchObject({
      code: 'ELEVATION_REFUSED',
      message: expect.stringMatching(/not granted/),
    });
    await expect(launchHelper('/f', { launch: fails('No polkit authentication agent found.'), command: nodeCommand })).rejects.toMatchObject({
      code: 'ELEVATION_REFUSED',
      message: expect.stringMatching(/polkit/),
    });
  });
});

describe('the real helper', () => {
  it('deletes its rendezvous file once it checked it, and refuses a device that does not exist', async () => {
    requireHelperBuilt();
    const helper = await startHelper();
    const link = await helper.socket();
    expect(await link.control()).toEqual({ type: 'auth', token: helper.rendezvous.token });
    expect(existsSync(helper.rendezvous.file)).toBe(false);
    link.send({ type: 'open', pin: { ...pin, path: '/dev/sureflash-no-such-device' } });
    expect(await link.control()).toMatchObject({ type: 'refused', code: 'TARGET_NOT_FOUND', message: expect.stringMatching(/does not exist/) });
    expect((await helper.exited).code).toBe(1);
    await helper.rendezvous.close();
  });

  it('refuses a batch before a device is open', async () => {
    const helper = await startHelper();
    const link = await helper.socket();
    await link.control();
    await link.batch([{ op: 'flush' }]);
    const { code, stderr } = await helper.exited;
    expect(code).toBe(1);
    expect(stderr).toMatch(/a frame of kind 2 is not expected now/);
    await helper.rendezvous.close();
  });
});
