/**
 * The privileged helper as the tests run it: dist/main/helper.cjs as a plain child (no sudo here: the tests
 * run as root), started either the way main starts it (launchHelper with a child launcher, for the engine)
 * or by a stand-in engine that speaks the wire itself, so a test can send the helper what the real engine
 * never would. Build first: `node scripts/build.mjs`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { BATCH, CONTROL, FrameReader, RESULT, bufferPlaces, controlFrame, decodeResult, encodeBatch, frameHeader, parseControl, type WireOp } from '../../src/main/engine/device/device-wire';
import { openRendezvous, type Rendezvous } from '../../src/main/engine/device/rendezvous';
import type { DeviceBatchResult } from '../../src/main/engine/device/device-protocol';
import { buildHelperCommand, type HelperCommand } from '../../src/main/privilege/helper-command';
import { launchHelper, type ElevatedLauncher } from '../../src/main/privilege/run-elevated';

function readFileRange(fd: number, position: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  readSync(fd, out, 0, length, position);
  return out;
}

export const helperPath = join(__dirname, '..', '..', 'dist', 'main', 'helper.cjs');

export function requireHelperBuilt(): void {
  if (!existsSync(helperPath)) throw new Error('dist/main/helper.cjs is missing: run `node scripts/build.mjs` first');
}

/** The helper's command line with this Node standing in for the app. */
export const nodeCommand = (file: string, uid: number = process.getuid?.() ?? 0): HelperCommand =>
  buildHelperCommand(file, { execPath: process.execPath, helperPath, electron: false, platform: process.platform, uid });

/** Runs the command as sudo-prompt would (through a shell), as a plain child; keeps what it said. */
export function childLauncher(said: string[] = []): ElevatedLauncher {
  return (command) =>
    new Promise((resolve, reject) => {
      const child = spawn('sh', ['-c', command.command], { env: { ...process.env, ...command.env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => {
        said.push(stderr);
        if (code === 0) resolve();
        else reject(new Error(`helper exited ${code}: ${stderr}`));
      });
    });
}

/** The engine's onElevate for tests: the helper as a plain child. */
export const elevateAsChild =
  (said: string[] = []) =>
  (_target: number, file: string): Promise<void> =>
    launchHelper(file, { launch: childLauncher(said), command: nodeCommand });

export interface HelperExit {
  code: number | null;
  stderr: string;
}

/** A helper child and the stand-in engine's end of its connection. */
export interface HelperUnderTest {
  rendezvous: Rendezvous;
  child: ChildProcess;
  exited: Promise<HelperExit>;
  /** The helper's connection (before its token was checked: the test reads it). */
  socket(): Promise<HelperLink>;
}

export class HelperLink {
  private readonly controls: unknown[] = [];
  private readonly results: { result: DeviceBatchResult; data: Buffer }[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  private readonly buffer: number;

  constructor(
    readonly socket: Socket,
    bufferPath: string,
  ) {
    this.buffer = openSync(bufferPath, 'r+');
    const reader = new FrameReader({
      limits: () => ({ meta: 1 << 20, data: 1 << 27 }),
      place: () => [],
      frame: (kind, meta) => {
        if (kind === CONTROL) this.controls.push(parseControl(meta));
        else if (kind === RESULT) {
          const { result } = decodeResult(meta);
          // What the reads delivered, from the transfer buffer, one after the other.
          const places = bufferPlaces(0, this.lastOps);
          const reads = this.lastOps.map((op, i) => ({ op, at: places[i] })).filter((x) => x.op.op === 'read');
          const data = Buffer.concat(result.reads.map((n, k) => readFileRange(this.buffer, reads[k]!.at as number, n)));
          this.results.push({ result, data });
        }
        this.wake();
      },
    });
    socket.on('data', (chunk: Buffer) => reader.feed(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async wait<T>(take: () => T | undefined): Promise<T | null> {
    for (;;) {
      const value = take();
      if (value !== undefined) return value;
      if (this.closed) return null;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The next control message, or null when the helper closed first. */
  control(): Promise<unknown> {
    return this.wait(() => this.controls.shift());
  }

  send(message: object): void {
    this.socket.write(controlFrame(message));
  }

  private lastOps: WireOp[] = [];

  /** Sends a batch (its bytes from 0 in the transfer buffer: `data` for the writes, in order) and waits for its result. */
  async batch(ops: WireOp[], data: Buffer[] = [], id = 1): Promise<{ result: DeviceBatchResult; data: Buffer } | null> {
    const places = bufferPlaces(0, ops);
    let w = 0;
    ops.forEach((op, i) => {
      if (op.op === 'write') writeSync(this.buffer, data[w++] as Buffer, 0, op.length, places[i] as number);
    });
    this.lastOps = ops;
    const meta = encodeBatch(id, 0, ops);
    this.socket.write(frameHeader(BATCH, meta.length, 0));
    this.socket.write(meta);
    return this.wait(() => this.results.shift());
  }
}

/**
 * Opens a rendezvous as the engine does, lets `prepare` spoil it if the test wants, and starts the helper
 * for it as a plain child with `uid` and `env`.
 */
export async function startHelper(options: { prepare?: (r: Rendezvous) => Promise<void> | void; uid?: number; env?: NodeJS.ProcessEnv; file?: string } = {}): Promise<HelperUnderTest> {
  requireHelperBuilt();
  const rendezvous = await openRendezvous();
  await options.prepare?.(rendezvous);
  const env = { ...process.env, ...options.env };
  delete env.SUDO_UID;
  delete env.PKEXEC_UID;
  Object.assign(env, options.env);
  const child = spawn(process.execPath, [helperPath, options.file ?? rendezvous.file, String(options.uid ?? process.getuid?.() ?? 0)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<HelperExit>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  return {
    rendezvous,
    child,
    exited,
    socket: async () => new HelperLink(await rendezvous.client, rendezvous.bufferPath),
  };
}
