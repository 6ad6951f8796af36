import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FlashJob } from '../../src/main/engine/protocol';
import { buildHelperCommand } from '../../src/main/privilege/helper-command';
import { runElevated, type ElevatedLauncher } from '../../src/main/privilege/run-elevated';
import { openRendezvous } from '../../src/main/privilege/rendezvous';
import type { FlashLayout } from '../../src/shared/report';
import { bmaptoolCreate, makeSparseImage, patternBytes } from '../helpers/bmap-fixtures';
import { attachLoop, readDirect, run, type LoopDevice } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

// The privileged helper flashing a real loop device, started as a plain child (no sudo here): the same
// command line sudo-prompt would run. Build first: `node scripts/build.mjs`.
const root = join(__dirname, '..', '..');
const helperPath = join(root, 'dist', 'main', 'helper.cjs');
const nodeCommand = (file: string) => buildHelperCommand(file, { execPath: process.execPath, helperPath, electron: false, platform: process.platform });
const childLauncher: ElevatedLauncher = (command) =>
  new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command.command], { env: { ...process.env, ...command.env }, stdio: 'ignore' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`helper exited with ${code}`))));
  });

const MiB = 1024 * 1024;

describeRoot('privileged helper on a loop device (needs root: loop devices)', () => {
  const work = mkdtempSync(join(tmpdir(), 'sureflash-helper-loop-'));
  let image: string;
  let bmap: string;
  let loop: LoopDevice;
  let backing: string;
  const layout = {
    size: 48 * MiB,
    extents: [
      { offset: 0, length: 64 * 1024, seed: 11 },
      { offset: 3 * MiB + 4096, length: 40 * MiB, seed: 12 },
      { offset: 47 * MiB, length: 1000, seed: 13 },
    ],
  };

  beforeAll(async () => {
    if (!existsSync(helperPath)) throw new Error('dist/main/helper.cjs is missing: run `node scripts/build.mjs` first');
    image = await makeSparseImage(work, 'os.img', layout);
    bmap = join(work, 'os.bmap');
    await bmaptoolCreate(image, bmap);
    backing = join(work, 'card.bin');
    writeFileSync(backing, Buffer.alloc(64 * MiB, 0xee));
    loop = await attachLoop(backing);
  });
  afterAll(async () => {
    await loop?.detach();
    rmSync(work, { recursive: true, force: true });
  });

  const job = (): FlashJob => ({ mode: 'copy', image, bmapPath: bmap, targets: [{ path: loop.device }], readback: true, verifySource: true, retries: 2 });

  it('flashes and verifies every mapped range, relaying the engine events', async () => {
    let started: FlashLayout | null = null;
    let progressEvents = 0;
    const flash = runElevated(
      job(),
      { onStarted: (l) => void (started = l), onProgress: () => void progressEvents++ },
      { launch: childLauncher, command: nodeCommand },
    );
    const batch = await flash.done;
    const report = batch.cards[0]!;
    expect(batch.status).toBe('verified');
    expect(report.target.path).toBe(loop.device);
    expect(started).not.toBeNull();
    expect(progressEvents).toBeGreaterThan(0);
    for (const [i, extent] of layout.extents.entries()) {
      const start = Math.floor(extent.offset / 4096) * 4096;
      const length = Math.ceil((extent.offset + extent.length) / 4096) * 4096 - start;
      const onDevice = await readDirect(loop.device, start, length);
      const inImage = (await readFile(image)).subarray(start, start + length);
      expect(onDevice.equals(inImage), `extent ${i}`).toBe(true);
      expect(onDevice.subarray(extent.offset - start, extent.offset - start + extent.length).equals(patternBytes(extent.length, extent.seed))).toBe(true);
    }
    // A hole the bmap does not map stays as it was on the card.
    expect((await readDirect(loop.device, 2 * MiB, 4096)).every((b) => b === 0xee)).toBe(true);
  });

  it('cancels in the helper and reports the job as cancelled', async () => {
    let flash: ReturnType<typeof runElevated> | null = null;
    flash = runElevated(job(), { onStarted: () => flash?.cancel() }, { launch: childLauncher, command: nodeCommand });
    const report = await flash.done;
    expect(report.status).toBe('cancelled');
  });

  it('exits when main goes away mid-job', async () => {
    const received: { type?: string }[] = [];
    const rendezvous = await openRendezvous({ onMessage: (m) => received.push(m as { type?: string }), onClose: () => undefined });
    const helper = spawn(process.execPath, [helperPath, rendezvous.file], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => helper.on('exit', (code) => resolve(code)));
    const socket = await rendezvous.helper;
    socket.write(`${JSON.stringify({ type: 'job', job: job() })}\n`);
    while (!received.some((m) => m.type === 'started')) await new Promise((r) => setTimeout(r, 5));
    await rendezvous.close(); // main went away: the channel closes under the helper
    expect(await exited).toBe(0);
    expect(received.some((m) => m.type === 'done')).toBe(false);
  });

  it('refuses a mounted device', async () => {
    const fsImage = join(work, 'fs.img');
    writeFileSync(fsImage, Buffer.alloc(16 * MiB));
    expect((await run('mkfs.ext4', ['-q', '-F', fsImage])).code).toBe(0);
    const fsLoop = await attachLoop(fsImage);
    const mountpoint = mkdtempSync(join(tmpdir(), 'sureflash-helper-mnt-'));
    try {
      expect((await run('mount', [fsLoop.device, mountpoint])).code).toBe(0);
      const flash = runElevated({ ...job(), targets: [{ path: fsLoop.device }] }, {}, { launch: childLauncher, command: nodeCommand });
      await expect(flash.done).rejects.toMatchObject({ code: 'TARGET_MOUNTED' });
    } finally {
      await run('umount', [mountpoint]);
      await fsLoop.detach();
      rmSync(mountpoint, { recursive: true, force: true });
    }
  });
});
