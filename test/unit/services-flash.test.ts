import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DriveInfo, FlashEvent, FlashRequest, ImageInfo } from '../../src/shared/api';
import { batchStatus, batchSummary, type BatchReport, type FlashReport } from '../../src/shared/report';
import { EngineError } from '../../src/main/engine/errors';
import type { DevicePin } from '../../src/main/engine/device/device-pin';
import type { FlashJob } from '../../src/main/engine/protocol';
import type { EngineJobHandlers } from '../../src/main/engine/worker-client';
import { buildFlashJob, createFlashService, type EngineRun } from '../../src/main/services/flash-service';
import { createSettingsService } from '../../src/main/services/settings-service';

// Policy tests: the engine runners are stand-ins that record the job; the real engine and helper are
// exercised in test/integration/flash-service*.test.ts and privilege*.test.ts.
const dir = mkdtempSync(join(tmpdir(), 'sureflash-flash-service-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const card: DriveInfo = {
  device: '/dev/sdx', raw: '/dev/sdx', description: 'Card', size: 8e9, isSystem: false, isRemovable: true, isReadOnly: false,
  isVirtual: false, isCard: true, isUSB: true, isLoop: false, busType: 'USB', mountpoints: ['/media/card'],
};
const big: DriveInfo = { ...card, device: '/dev/sdy', raw: '/dev/sdy', size: 2e12, isCard: false };
const image = (imageSize: number | null): ImageInfo => ({
  path: '/images/os.img', name: 'os.img', fileSize: 1e6, compression: 'none', imageSize, bmap: null, diskSignature: 'mbr', warnings: [],
  source: 'file', signature: { status: 'unsigned' }, checksum: { kind: 'sha256', status: 'none' },
});
const request = (over: Partial<FlashRequest> = {}): FlashRequest => ({
  imagePath: '/images/os.img', devices: [card.device], readback: true, retries: 2, acknowledged: [], ...over,
});
const report = (status: FlashReport['status'], mode: 'copy' | 'verify' = 'copy') => ({ status, mode }) as unknown as FlashReport;
const batch = (cards: FlashReport[]): BatchReport =>
  ({ kind: 'batch', status: batchStatus(cards), cards, summary: batchSummary(cards) }) as unknown as BatchReport;

function controllableRun(handlers: EngineJobHandlers) {
  let resolveBatch!: (r: BatchReport) => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<BatchReport>((res, rej) => ((resolveBatch = res), (reject = rej)));
  const run = { cancelled: [] as (number | undefined)[], cancel: (target?: number) => void run.cancelled.push(target), done } satisfies EngineRun & { cancelled: unknown[] };
  /** Ends the job as the engine does: each card's target-done, then the batch. */
  const resolve = (...cards: FlashReport[]): void => {
    cards.forEach((c, i) => handlers.onTargetDone?.(i, c));
    resolveBatch(batch(cards));
  };
  return { run, resolve, reject };
}

const pinOf = (device: string, mode: 'copy' | 'verify'): DevicePin => ({
  path: device, mode, rdev: 2064, size: 8e9, diskseq: '7', model: 'Card', serial: 'ABC', backingFile: null,
});

function setup(
  opts: { writable?: boolean; imageSize?: number | null; eject?: boolean; drives?: DriveInfo[]; confirm?: (d: DriveInfo) => boolean } = {},
) {
  const log: string[] = [];
  const runs: { mode: string; job: FlashJob; handlers: EngineJobHandlers; ctl: ReturnType<typeof controllableRun> }[] = [];
  const settings = createSettingsService(mkdtempSync(join(dir, 'settings-')));
  if (opts.eject) void settings.set({ eject: true });
  const runner = (mode: string) => (job: FlashJob, handlers: EngineJobHandlers) => {
    const ctl = controllableRun(handlers);
    runs.push({ mode, job, handlers, ctl });
    return ctl.run;
  };
  const service = createFlashService({
    listDrives: async () => (log.push('list'), opts.drives ?? [card, big]),
    probeImage: async () => image(opts.imageSize === undefined ? 1e9 : opts.imageSize),
    unmount: async (d) => void log.push(`unmount ${d.device}`),
    eject: async (d) => void log.push(`eject ${d.device}`),
    settings,
    canWrite: async () => opts.writable ?? true,
    pinDrive: async (device, mode) => (log.push(`pin ${device}`), pinOf(device, mode)),
    elevate: async (file) => void log.push(`elevate ${file}`),
    runEngine: runner('engine'),
    ...(opts.confirm ? { confirm: async (d: DriveInfo[]) => (log.push(`confirm ${d.map((x) => x.device).join(' ')}`), opts.confirm!(d[0] as DriveInfo)) } : {}),
  });
  const events: FlashEvent[] = [];
  service.subscribe((e) => events.push(e));
  return { service, runs, log, events };
}

const settle = () => new Promise((r) => setImmediate(r));
/** Resolves once the service has emitted `count` terminal events (done or error). */
async function ended(events: FlashEvent[], count = 1): Promise<void> {
  while (events.filter((e) => e.type === 'done' || e.type === 'error').length < count) await settle();
}

describe('flash service policy', () => {
  it('refuses a device main did not list, before unmounting or starting anything', async () => {
    const { service, runs, log } = setup();
    await expect(service.start(request({ devices: ['/dev/sda'] }))).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED' });
    expect(log).toEqual(['list']);
    expect(runs).toEqual([]);
  });

  it('re-enumerates on every start', async () => {
    const { service, log, runs, events } = setup();
    await service.start(request());
    runs[0]!.ctl.resolve(report('verified'));
    await ended(events);
    await service.start(request());
    expect(log.filter((l) => l === 'list')).toHaveLength(2);
  });

  it('refuses a drive smaller than the image', async () => {
    const { service, runs } = setup({ imageSize: 16e9 });
    await expect(service.start(request())).rejects.toMatchObject({ code: 'TARGET_TOO_SMALL' });
    expect(runs).toEqual([]);
  });

  it('judges the real file behind a symlink: an image on the target itself is refused', async () => {
    const mount = mkdtempSync(join(dir, 'card-mount-'));
    const elsewhere = mkdtempSync(join(dir, 'elsewhere-'));
    writeFileSync(join(mount, 'os.img'), 'x');
    symlinkSync(join(mount, 'os.img'), join(elsewhere, 'os.img'));
    const { service, runs } = setup({ drives: [{ ...card, mountpoints: [mount] }] });
    await expect(service.start(request({ imagePath: join(elsewhere, 'os.img') }))).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED' });
    expect(runs).toEqual([]);
  });

  it("asks main's own confirmation last, and a no touches nothing", async () => {
    const no = setup({ confirm: () => false });
    await expect(no.service.start(request())).rejects.toMatchObject({ code: 'NOT_CONFIRMED', message: expect.stringMatching(/nothing was written to \/dev\/sdx/) });
    expect(no.log).toEqual(['list', 'confirm /dev/sdx']);
    expect(no.runs).toEqual([]);
    const yes = setup({ confirm: () => true });
    await yes.service.start(request());
    expect(yes.log).toEqual(['list', 'confirm /dev/sdx', 'unmount /dev/sdx']);
    expect(yes.runs).toHaveLength(1);
  });

  it('refuses a large drive until LARGE is acknowledged', async () => {
    const { service, runs } = setup();
    await expect(service.start(request({ devices: [big.device] }))).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED' });
    await service.start(request({ devices: [big.device], acknowledged: ['LARGE'] }));
    expect(runs).toHaveLength(1);
  });

  it('unmounts, then runs the engine; a drive it cannot write is pinned before the confirmation and served by the helper', async () => {
    const a = setup({ writable: true });
    await a.service.start(request());
    expect(a.log).toEqual(['list', `unmount ${card.device}`]);
    expect(a.runs[0]!.job).toEqual(buildFlashJob(request(), [card]));
    const b = setup({ writable: false, confirm: () => true });
    await b.service.start(request());
    expect(b.log).toEqual(['list', `pin ${card.raw}`, `confirm ${card.device}`, `unmount ${card.device}`]);
    const job = buildFlashJob(request(), [card]);
    job.targets[0]!.elevated = pinOf(card.raw, 'copy');
    expect(b.runs[0]!.job).toEqual(job);
    // The engine asks for the helper when it opens the card: main starts it for the engine's rendezvous.
    await b.runs[0]!.handlers.onElevate!(0, '/tmp/r/rendezvous.json');
    expect(b.log.at(-1)).toBe('elevate /tmp/r/rendezvous.json');
    await expect(b.runs[0]!.handlers.onElevate!(1, '/tmp/r/rendezvous.json')).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED' });
  });

  it('refuses a drive whose size is not what was listed when it is pinned', async () => {
    const { service, runs } = setup({ writable: false, drives: [{ ...card, size: 4e9 }] });
    await expect(service.start(request())).rejects.toMatchObject({ code: 'TARGET_CHANGED' });
    expect(runs).toEqual([]);
  });

  it('builds the engine job from the request', () => {
    expect(buildFlashJob(request({ bmapPath: '/images/os.bmap', skipIdentical: true }), [card])).toMatchObject({
      mode: 'copy', image: '/images/os.img', bmapPath: '/images/os.bmap', targets: [{ path: '/dev/sdx', identity: null }], readback: true, retries: 2,
      verifySource: true, requireBlockDevice: true, skipIdentical: true, probe: true,
    });
    expect(buildFlashJob(request({ bmapPath: null }), [card]).noBmap).toBe(true);
    const discover = buildFlashJob(request(), [card]);
    expect('bmapPath' in discover || 'noBmap' in discover).toBe(false);
  });

  it('allows one job per device at a time', async () => {
    const { service, runs, events } = setup();
    await service.start(request());
    await expect(service.start(request())).rejects.toMatchObject({ code: 'TARGET_BUSY' });
    await service.start(request({ devices: [big.device], acknowledged: ['LARGE'] }));
    runs[0]!.ctl.resolve(report('failed'));
    await ended(events);
    await service.start(request());
    expect(runs).toHaveLength(3);
  });

  it('frees the device when a pre-check fails', async () => {
    const { service, runs } = setup({ imageSize: 16e9 });
    await expect(service.start(request())).rejects.toThrow();
    expect(service.busyDevices()).toEqual([]);
    expect(runs).toHaveLength(0);
  });

  it('tags events with the job id, keeps the report, cancels the right run', async () => {
    const { service, runs, events } = setup();
    const { jobId } = await service.start(request());
    const { handlers, ctl } = runs[0]!;
    handlers.onStarted?.({ imageSize: 1, blockSize: 4096, mappedBytes: 1, ranges: [] });
    service.cancel('some-other-job');
    expect(ctl.run.cancelled).toEqual([]);
    service.cancel(jobId, '/dev/not-in-this-job');
    expect(ctl.run.cancelled).toEqual([]);
    service.cancel(jobId);
    expect(ctl.run.cancelled).toEqual([undefined]);
    expect(service.report(jobId)).toBeNull();
    ctl.resolve(report('cancelled'));
    await ended(events);
    expect(events.map((e) => [e.type, e.jobId])).toEqual([['started', jobId], ['target-done', jobId], ['done', jobId]]);
    expect(service.report(jobId)).toMatchObject({ kind: 'batch', status: 'cancelled', cards: [report('cancelled')] });
  });

  it('ejects only after a verified flash with the setting on', async () => {
    const on = setup({ eject: true });
    await on.service.start(request());
    on.runs[0]!.ctl.resolve(report('verified'));
    await ended(on.events);
    expect(on.log).toContain(`eject ${card.device}`);
    const failed = setup({ eject: true });
    await failed.service.start(request());
    failed.runs[0]!.ctl.resolve(report('failed'));
    await ended(failed.events);
    expect(failed.log).not.toContain(`eject ${card.device}`);
    const off = setup();
    await off.service.start(request());
    off.runs[0]!.ctl.resolve(report('verified'));
    await ended(off.events);
    expect(off.log).not.toContain(`eject ${card.device}`);
  });

  it('flashes several drives in one job: one target each, per-card cancel, per-card eject', async () => {
    const other: DriveInfo = { ...card, device: '/dev/sdw', raw: '/dev/sdw' };
    const { service, runs, events, log } = setup({ eject: true, drives: [card, other, big], confirm: () => true });
    const { jobId } = await service.start(request({ devices: [card.device, other.device] }));
    expect(log).toEqual(['list', `confirm ${card.device} ${other.device}`, `unmount ${card.device}`, `unmount ${other.device}`]);
    const { job, handlers, ctl } = runs[0]!;
    expect(job.targets.map((t) => t.path)).toEqual([card.device, other.device]);
    handlers.onStarted?.({ imageSize: 1, blockSize: 4096, mappedBytes: 1, ranges: [] });
    expect(events[0]).toMatchObject({ type: 'started', targets: [{ device: card.device }, { device: other.device }] });
    handlers.onProgress?.(1, { phase: 'writing', bytesDone: 1, bytesTotal: 2, speed: 0, etaSeconds: null, retries: 0, rangeChanges: [] });
    expect(events[1]).toMatchObject({ type: 'progress', device: other.device });
    service.cancel(jobId, other.device);
    expect(ctl.run.cancelled).toEqual([1]);
    await expect(service.start(request({ devices: [other.device] }))).rejects.toMatchObject({ code: 'TARGET_BUSY' });
    ctl.resolve(report('verified'), report('cancelled'));
    await ended(events);
    const done = events.filter((e) => e.type === 'target-done') as Extract<FlashEvent, { type: 'target-done' }>[];
    expect(done.map((e) => e.device).sort()).toEqual([card.device, other.device].sort());
    expect(done.find((e) => e.device === card.device)?.report.target).toMatchObject({ ejected: true });
    expect(log.filter((l) => l.startsWith('eject'))).toEqual([`eject ${card.device}`]);
    expect(service.report(jobId)).toMatchObject({ status: 'cancelled', summary: { cards: 2, verified: 1, cancelled: 1 } });
    expect(service.busyDevices()).toEqual([]);
  });

  it('refuses a job naming a drive that is not listed, before touching any of them', async () => {
    const { service, runs, log } = setup();
    await expect(service.start(request({ devices: [card.device, '/dev/sdq'] }))).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED' });
    expect(log).toEqual(['list']);
    expect(runs).toEqual([]);
    expect(service.busyDevices()).toEqual([]);
  });

  it('turns a run without a report into an error event with its code', async () => {
    const { service, runs, events } = setup({ writable: false });
    const { jobId } = await service.start(request());
    runs[0]!.ctl.reject(new EngineError('ELEVATION_REFUSED', 'You did not allow Sureflash to write to the drive.'));
    await ended(events);
    expect(events).toEqual([{ type: 'error', jobId, error: { code: 'ELEVATION_REFUSED', message: 'You did not allow Sureflash to write to the drive.' } }]);
    expect(service.busyDevices()).toEqual([]);
  });
});
