import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FlashEvent, FlashRequest } from '../../src/shared/api';
import type { FlashReport } from '../../src/shared/report';
import { createApiCore } from '../../src/main/services/api-core';
import type { ElevatedLauncher } from '../../src/main/privilege/run-elevated';
import { createMainServices, type MainServicesOptions } from '../../src/main/services/main-services';
import { spawn } from 'node:child_process';
import { bmaptoolCreate, makeSparseImage, patternBytes } from '../helpers/bmap-fixtures';
import { attachLoop, isLoopAttached, readDirect, run, type LoopDevice } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

// The real services end to end: drivelist + loop enumeration, probe, drive rules, unmount, the engine
// worker bundle (build first: `node scripts/build.mjs`), events and reports — through the api core.
const MiB = 1024 * 1024;

describeRoot('flash service on loop devices (needs root: loop devices)', () => {
  const work = mkdtempSync(join(tmpdir(), 'sureflash-flash-service-'));
  let image: string;
  let loop: LoopDevice;
  const layout = { size: 12 * MiB, extents: [{ offset: 4096, length: 2 * MiB, seed: 21 }, { offset: 9 * MiB, length: 100_000, seed: 22 }] };

  const make = (allowLoop: boolean, saveTo: string | null = null, extra: Partial<MainServicesOptions> = {}) => {
    const services = createMainServices({ allowLoop, userDataDir: mkdtempSync(join(work, 'user-data-')), ...extra });
    const core = createApiCore(services, { pickImage: async () => null, saveReportPath: async () => saveTo });
    const events: FlashEvent[] = [];
    services.flash.subscribe((e) => events.push(e));
    const end = async (jobId: string): Promise<FlashEvent> => {
      for (;;) {
        const last = events.find((e) => e.jobId === jobId && (e.type === 'done' || e.type === 'error'));
        if (last) return last;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    return { services, core, events, end };
  };
  const request = (over: Partial<FlashRequest> = {}): FlashRequest => ({
    imagePath: image, devices: [loop.device], readback: true, retries: 2, acknowledged: [], ...over,
  });

  beforeAll(async () => {
    image = await makeSparseImage(work, 'os.img', layout);
    await bmaptoolCreate(image, join(work, 'os.img.bmap'));
    const backing = join(work, 'card.bin');
    writeFileSync(backing, Buffer.alloc(32 * MiB, 0x5a));
    loop = await attachLoop(backing);
  });
  afterAll(async () => {
    await loop?.detach();
    rmSync(work, { recursive: true, force: true });
  });

  it('flashes a listed loop device, emits events for the job and saves its report', async () => {
    const reportPath = join(work, 'report.json');
    const { core, events, end } = make(true, reportPath);
    const started = await core.flash(request());
    expect(started.ok).toBe(true);
    if (!started.ok) return;
    const { jobId } = started.value;
    const last = await end(jobId);
    expect(last.type).toBe('done');
    const report = (last as Extract<FlashEvent, { type: 'done' }>).report;
    expect(report.status).toBe('verified');
    expect(report.bmap).not.toBeNull();
    expect(events.filter((e) => e.jobId === jobId).map((e) => e.type)).toContain('started');
    const extent = layout.extents[1]!;
    const start = Math.floor(extent.offset / 4096) * 4096;
    const onDevice = await readDirect(loop.device, start, Math.ceil((extent.offset + extent.length - start) / 4096) * 4096);
    expect(onDevice.subarray(extent.offset - start, extent.offset - start + extent.length).equals(patternBytes(extent.length, extent.seed))).toBe(true);
    expect(await core.saveReport(jobId)).toEqual({ ok: true, value: reportPath });
    expect((JSON.parse(readFileSync(reportPath, 'utf8')) as FlashReport).status).toBe('verified');
  });

  it('flashes two devices in one job: a report per device (target-done), both proven, one batch at the end', async () => {
    const backing2 = join(work, 'card2.bin');
    writeFileSync(backing2, Buffer.alloc(32 * MiB, 0xa5));
    const loop2 = await attachLoop(backing2);
    try {
      const { core, events, end } = make(true);
      const started = await core.flash(request({ devices: [loop.device, loop2.device] }));
      if (!started.ok) throw new Error(started.error.message);
      const { jobId } = started.value;
      const last = await end(jobId);
      expect(last.type).toBe('done');
      const batch = (last as Extract<FlashEvent, { type: 'done' }>).report;
      expect(batch.kind).toBe('batch');
      expect(batch.status).toBe('verified');
      // The service takes the drives in the drive list's order, which follows the loop numbers the run got.
      expect(batch.cards.map((c) => [c.target.path, c.status]).sort()).toEqual([[loop.device, 'verified'], [loop2.device, 'verified']].sort());
      const mine = events.filter((e) => e.jobId === jobId);
      const done = mine.filter((e): e is Extract<FlashEvent, { type: 'target-done' }> => e.type === 'target-done');
      expect(done.map((e) => e.device).sort()).toEqual([loop.device, loop2.device].sort());
      for (const device of [loop.device, loop2.device]) {
        expect(mine.some((e) => e.type === 'progress' && e.device === device)).toBe(true);
        for (const extent of layout.extents) {
          const start = Math.floor(extent.offset / 4096) * 4096;
          const onDevice = await readDirect(device, start, Math.ceil((extent.offset + extent.length - start) / 4096) * 4096);
          expect(onDevice.subarray(extent.offset - start, extent.offset - start + extent.length).equals(patternBytes(extent.length, extent.seed)), device).toBe(true);
        }
      }
    } finally {
      await loop2.detach();
    }
  });

  it('refuses a device main did not list: a loop device without --allow-loop, and a plain file', async () => {
    const { core, events } = make(false);
    const hidden = await core.flash(request());
    expect(hidden).toMatchObject({ ok: false, error: { code: 'TARGET_NOT_ALLOWED' } });
    const file = join(work, 'target.bin');
    writeFileSync(file, Buffer.alloc(32 * MiB));
    const plain = await make(true).core.flash(request({ devices: [file] }));
    expect(plain).toMatchObject({ ok: false, error: { code: 'TARGET_NOT_ALLOWED' } });
    expect(readFileSync(file).every((b) => b === 0)).toBe(true);
    expect(events).toEqual([]);
  });

  it('refuses a device smaller than the image', async () => {
    const small = join(work, 'small.bin');
    writeFileSync(small, Buffer.alloc(4 * MiB));
    const smallLoop = await attachLoop(small);
    try {
      const result = await make(true).core.flash(request({ devices: [smallLoop.device] }));
      expect(result).toMatchObject({ ok: false, error: { code: 'TARGET_TOO_SMALL' } });
    } finally {
      await smallLoop.detach();
    }
  });

  it('unmounts a mounted target before writing', async () => {
    const fsFile = join(work, 'fs.bin');
    writeFileSync(fsFile, Buffer.alloc(32 * MiB));
    expect((await run('mkfs.ext4', ['-q', '-F', fsFile])).code).toBe(0);
    const fsLoop = await attachLoop(fsFile);
    const mountpoint = mkdtempSync(join(tmpdir(), 'sureflash-fs-mnt-'));
    try {
      expect((await run('mount', [fsLoop.device, mountpoint])).code).toBe(0);
      const { core, end } = make(true);
      const started = await core.flash(request({ devices: [fsLoop.device] }));
      expect(started.ok).toBe(true);
      if (!started.ok) return;
      const last = await end(started.value.jobId);
      expect(last.type === 'done' && last.report.status).toBe('verified');
      expect((await run('findmnt', ['--source', fsLoop.device])).code).not.toBe(0);
    } finally {
      await run('umount', [mountpoint]);
      await fsLoop.detach();
      rmSync(mountpoint, { recursive: true, force: true });
    }
  });

  it('goes through the elevated helper when the device is not writable, and reports a refused prompt', async () => {
    // No sudo here: the "prompt" runs the helper's command line (node dist/main/helper.cjs <file>) as a plain child.
    const commands: string[] = [];
    const granted: ElevatedLauncher = ({ command }) =>
      new Promise((resolve, reject) => {
        commands.push(command);
        const child = spawn('sh', ['-c', command], { stdio: 'ignore' });
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`helper exited ${code}`))));
      });
    const notWritable = async () => false;
    const elevated = make(true, null, { canWrite: notWritable, launchElevated: granted });
    const started = await elevated.core.flash(request());
    if (!started.ok) throw new Error(started.error.message);
    const last = await elevated.end(started.value.jobId);
    expect(last.type === 'done' && last.report.status).toBe('verified');
    expect(commands).toHaveLength(1);
    expect(commands[0]).toMatch(/dist\/main\/helper\.cjs' '[^']+rendezvous\.json' '0'$/);

    const refused = make(true, null, { canWrite: notWritable, launchElevated: async () => Promise.reject(new Error('User did not grant permission.')) });
    const attempt = await refused.core.flash(request());
    if (!attempt.ok) throw new Error(attempt.error.message);
    // The card ends cancelled (the user said no), its reason in the report; nothing was written.
    const outcome = await refused.end(attempt.value.jobId);
    expect(outcome).toMatchObject({ type: 'done', report: { status: 'cancelled', cards: [{ status: 'cancelled', error: { code: 'ELEVATION_REFUSED' } }] } });
  });

  it('allows one job per device and cancels a running job', async () => {
    const { core, end } = make(true);
    const first = await core.flash(request());
    const second = await core.flash(request());
    expect(second).toMatchObject({ ok: false, error: { code: 'TARGET_BUSY' } });
    if (!first.ok) throw new Error('first flash refused');
    expect(await core.cancel(first.value.jobId)).toEqual({ ok: true, value: null });
    const last = await end(first.value.jobId);
    expect(last.type === 'done' && last.report.status).toBe('cancelled');
    expect(isLoopAttached(loop.device)).toBe(true);
  });
});
