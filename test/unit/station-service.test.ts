import { afterEach, describe, expect, it } from 'vitest';
import type { DriveInfo, ImageInfo } from '../../src/shared/api';
import type { CardIdentity } from '../../src/shared/card-identity';
import { assessHealth } from '../../src/shared/health-rules';
import { flashOutcomeOf } from '../../src/shared/flash-outcome';
import type { BatchReport, FlashReport } from '../../src/shared/report';
import type { StationEvent, StationOptions } from '../../src/shared/station';
import type { FlashJob } from '../../src/main/engine/protocol';
import type { EngineJobHandlers } from '../../src/main/engine/worker-client';
import type { FlashHistory } from '../../src/main/history/flash-recorder';
import { createStationService } from '../../src/main/station/station-service';
import type { StationService } from '../../src/main/station/types';

// The station's policy with stand-ins for the drive list, the engine and the history; the real thing
// (loop devices, the FUSE card, the built CLI) is in test/integration/station-cli.test.ts.

const drive = (n: number, over: Partial<DriveInfo> = {}): DriveInfo => ({
  device: `/dev/sd${n}`, raw: `/dev/sd${n}`, description: `Reader slot ${n}`, size: 8e9, isSystem: false, isRemovable: true, isReadOnly: false,
  isVirtual: false, isCard: true, isUSB: true, isLoop: false, busType: 'USB', mountpoints: [], ...over,
});
const system = drive(0, { device: '/dev/vda', raw: '/dev/vda', isSystem: true, size: 256e9 });
const imageInfo: ImageInfo = {
  path: '/images/os.img', name: 'os.img', fileSize: 1e6, compression: 'none', imageSize: 1e9, bmap: null, diskSignature: 'mbr', warnings: [],
  source: 'file', signature: { status: 'unsigned' }, checksum: { kind: 'sha256', status: 'none' },
};
const options = (over: Partial<StationOptions> = {}): StationOptions => ({
  imagePath: __filename, retries: 1, skipIdentical: false, readback: true, probe: true, maxCards: 4, slots: [], maxSizeBytes: null, logFile: null, ...over,
});
const identity = (device: string): CardIdentity => ({
  device, name: device.slice(5), devNumber: '8:0', bus: 'usb', vendor: 'Generic', model: 'SD', serial: null, serialScope: 'unknown',
  serialScopeReason: 'test', cid: null, sizeBytes: 8e9, removable: true, readOnly: false,
  location: { sysfsPath: `/devices/usb/${device}`, slot: `/devices/usb/port-${device.slice(7)}`, lun: 0 }, usb: null, backingFile: null,
  fingerprint: 'ab'.repeat(32), cardId: `fp-8000000000-${device.slice(5)}`, idSource: 'fingerprint',
});
function report(device: string, status: FlashReport['status'], over: { code?: string; bad?: number } = {}): FlashReport {
  return {
    status, mode: 'copy', startedAt: '2026-01-01T10:00:00.000Z', finishedAt: '2026-01-01T10:00:10.000Z',
    image: { path: '/images/os.img', size: 1e9, imageSize: 1e9 }, bmap: null, target: { path: device, size: 8e9, kind: 'block-device' },
    ranges: [{ index: 0, first: 0, last: 9, bytes: 40960, state: status === 'verified' ? 'verified' : 'failed', retries: 0, rewrittenBlocks: 0, ...(over.bad ? { badBlocks: [{ first: 3, last: 2 + over.bad }] } : {}) }],
    totals: { bytesWritten: 1e9, mappedBytes: 1e9, bytesReadBack: 1e9, retries: 0, rewrittenBlocks: 0, badRanges: 0, verifiedRanges: 1, retriedRanges: 0 },
    timings: { preparingMs: 0, copyMs: 10_000, flushMs: 0, totalMs: 10_000, sourceMs: 0, writeMs: 5000, readbackMs: 0 },
    averageSpeed: 1e8, probe: null, ...(over.code ? { error: { code: over.code, message: `${over.code} on ${device}` } } : {}),
  } as unknown as FlashReport;
}

interface FakeRun {
  job: FlashJob;
  handlers: EngineJobHandlers;
  cancelled: boolean;
  finish(status: FlashReport['status'], over?: { code?: string; bad?: number }): void;
}

function setup(opts: { historyFails?: boolean; unmountGate?: Promise<void> } = {}) {
  let drives: DriveInfo[] = [system];
  const runs: FakeRun[] = [];
  const recorded: string[] = [];
  const unmounted: string[] = [];
  const history: FlashHistory = {
    file: '/tmp/history.sqlite',
    record: (flash) => {
      const outcome = flashOutcomeOf(flash.report);
      const health = assessHealth(outcome, []);
      if (opts.historyFails) return { outcome, health, historyId: null, error: 'the flash was not recorded in the history: disk full' };
      recorded.push(flash.report.target.path);
      return { outcome, health, historyId: recorded.length, error: null };
    },
    close: () => undefined,
  };
  const events: StationEvent[] = [];
  const waiters: { test: (e: StationEvent) => boolean; resolve: (e: StationEvent) => void }[] = [];
  const station: StationService = createStationService({
    listDrives: async () => drives,
    probeImage: async () => imageInfo,
    identify: async (device) => identity(device),
    mediaKey: async () => null,
    unmount: async (d) => {
      unmounted.push(d.device);
      await opts.unmountGate;
    },
    runEngine: (job, handlers) => {
      let resolve!: (b: BatchReport) => void;
      const done = new Promise<BatchReport>((r) => (resolve = r));
      const run: FakeRun = {
        job, handlers, cancelled: false,
        finish: (status, over) => {
          const card = report(job.targets[0]!.path, status, over);
          handlers.onTargetDone?.(0, card);
          resolve({ kind: 'batch', cards: [card] } as unknown as BatchReport);
        },
      };
      runs.push(run);
      return { cancel: () => { run.cancelled = true; }, done };
    },
    history,
    pollIntervalMs: 5,
    stationName: 'bench',
  });
  station.subscribe((e) => {
    events.push(e);
    for (const w of [...waiters]) if (w.test(e)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(e); }
  });
  const next = <T extends StationEvent['type']>(type: T, test: (e: Extract<StationEvent, { type: T }>) => boolean = () => true): Promise<Extract<StationEvent, { type: T }>> => {
    const seen = events.find((e) => e.type === type && test(e as Extract<StationEvent, { type: T }>));
    if (seen) return Promise.resolve(seen as Extract<StationEvent, { type: T }>);
    return new Promise((resolve) => waiters.push({ test: (e) => e.type === type && test(e as Extract<StationEvent, { type: T }>), resolve: resolve as (e: StationEvent) => void }));
  };
  const untilRuns = async (n: number): Promise<void> => { while (runs.length < n) await new Promise((r) => setTimeout(r, 2)); };
  return {
    station, runs, events, recorded, unmounted, next, untilRuns,
    setDrives: (list: DriveInfo[]) => { drives = list; },
  };
}

let live: StationService | null = null;
afterEach(async () => {
  live?.stop({ cancel: true });
  live = null;
});

describe('station service', () => {
  it('never takes a drive present at arming; flashes each drive that appears afterwards in its own job', async () => {
    const t = setup();
    live = t.station;
    const present = drive(1);
    t.setDrives([system, present]);
    const armed = await t.station.arm(options());
    expect(armed.state).toBe('armed');
    expect(armed.untouched.map((u) => u.device)).toEqual(['/dev/vda', '/dev/sd1']);
    t.setDrives([system, present, drive(2)]);
    const taken = await t.next('card-taken');
    expect(taken).toMatchObject({ card: 1, device: '/dev/sd2', slot: '/devices/usb/port-2' });
    await t.untilRuns(1);
    expect(t.runs[0]!.job).toMatchObject({ mode: 'copy', targets: [{ path: '/dev/sd2' }], retries: 1, readback: true, probe: true, requireBlockDevice: true });
    t.runs[0]!.finish('verified');
    const done = await t.next('card-done');
    expect(done.result).toMatchObject({ card: 1, verdict: 'verified', health: { verdict: 'keep' }, recorded: { historyId: 1 } });
    // Several polls later, still one job: the drive present at arming and the finished card are left alone.
    await new Promise((r) => setTimeout(r, 50));
    expect(t.runs).toHaveLength(1);
    expect(t.unmounted).toEqual(['/dev/sd2']);
  });

  it('refuses the system drive and one above the limit when they appear; a card inserted later does not wait for a running one', async () => {
    const t = setup();
    live = t.station;
    await t.station.arm(options({ maxSizeBytes: 16e9 }));
    t.setDrives([system, drive(7, { size: 64e9 }), drive(2)]);
    await t.next('card-refused', (e) => e.refusal.device === '/dev/sd7');
    await t.untilRuns(1);
    t.setDrives([system, drive(7, { size: 64e9 }), drive(2), drive(3)]);
    await t.untilRuns(2);
    expect(t.runs.map((r) => r.job.targets[0]!.path)).toEqual(['/dev/sd2', '/dev/sd3']);
    expect(t.events.filter((e) => e.type === 'card-refused').map((e) => (e as { refusal: { code: string } }).refusal.code)).toEqual(['TOO_LARGE']);
  });

  it('takes at most K at a time and queues the rest; a card taken out and put back is flashed again', async () => {
    const t = setup();
    live = t.station;
    await t.station.arm(options({ maxCards: 1 }));
    t.setDrives([system, drive(2), drive(3)]);
    await t.untilRuns(1);
    await new Promise((r) => setTimeout(r, 30));
    expect(t.runs).toHaveLength(1);
    t.runs[0]!.finish('verified');
    await t.untilRuns(2);
    expect(t.runs[1]!.job.targets[0]!.path).toBe('/dev/sd3');
    t.runs[1]!.finish('verified');
    await t.next('card-done', (e) => e.result.card === 2);
    t.setDrives([system, drive(3)]);
    await t.next('card-removed', (e) => e.device === '/dev/sd2');
    t.setDrives([system, drive(2), drive(3)]);
    await t.untilRuns(3);
    expect(t.runs[2]!.job.targets[0]!.path).toBe('/dev/sd2');
  });

  it('a card that vanishes mid-flash is lost (its job cancelled) and the station goes on', async () => {
    const t = setup();
    live = t.station;
    await t.station.arm(options());
    t.setDrives([system, drive(2)]);
    await t.untilRuns(1);
    t.setDrives([system]);
    while (!t.runs[0]!.cancelled) await new Promise((r) => setTimeout(r, 2));
    t.runs[0]!.finish('failed', { code: 'DEVICE_LOST' });
    const lost = await t.next('card-lost');
    expect(lost.result).toMatchObject({ card: 1, verdict: 'lost', device: '/dev/sd2' });
    t.setDrives([system, drive(3)]);
    await t.untilRuns(2);
    t.runs[1]!.finish('verified');
    await t.next('card-done');
    t.station.stop();
    const summary = await t.station.whenStopped();
    expect(summary).toMatchObject({ taken: 2, verified: 1, lost: 1, allVerified: false });
  });

  it('stop lets running cards finish and takes no new one; a second stop cancels them', async () => {
    const t = setup();
    live = t.station;
    await t.station.arm(options());
    t.setDrives([system, drive(2)]);
    await t.untilRuns(1);
    expect(t.station.stop().state).toBe('stopping');
    t.setDrives([system, drive(2), drive(3)]);
    await new Promise((r) => setTimeout(r, 30));
    expect(t.runs).toHaveLength(1);
    expect(t.runs[0]!.cancelled).toBe(false);
    expect(t.station.stop().state).toBe('cancelling');
    expect(t.runs[0]!.cancelled).toBe(true);
    t.runs[0]!.finish('cancelled', { code: 'CANCELLED' });
    const stopped = await t.next('stopped');
    expect(stopped.summary).toMatchObject({ taken: 1, cancelled: 1, allVerified: false });
    expect(t.station.status().state).toBe('stopped');
  });

  it('a card cancelled before its job started ends cancelled, and no job is started', async () => {
    let open!: () => void;
    const t = setup({ unmountGate: new Promise<void>((r) => (open = r)) });
    live = t.station;
    await t.station.arm(options());
    t.setDrives([system, drive(2)]);
    await t.next('card-taken');
    while (t.unmounted.length === 0) await new Promise((r) => setTimeout(r, 2));
    t.station.stop();
    t.station.stop();
    open();
    const done = await t.next('card-done');
    expect(done.result).toMatchObject({ verdict: 'cancelled', summary: { error: { code: 'CANCELLED' } } });
    expect(t.runs).toHaveLength(0);
    expect((await t.station.whenStopped())?.cancelled).toBe(1);
  });

  it('a history that cannot be written is a warning; the verdict stands', async () => {
    const t = setup({ historyFails: true });
    live = t.station;
    await t.station.arm(options());
    t.setDrives([system, drive(2)]);
    await t.untilRuns(1);
    t.runs[0]!.finish('verified');
    const done = await t.next('card-done');
    expect(done.result.verdict).toBe('verified');
    expect(done.result.recorded).toMatchObject({ historyId: null, historyError: expect.stringContaining('disk full') });
    expect(t.events.some((e) => e.type === 'warning' && e.message.includes('disk full'))).toBe(true);
  });

  it('refuses to arm when the log file cannot be written', async () => {
    const t = setup();
    live = t.station;
    await expect(t.station.arm(options({ logFile: '/proc/no-such-dir/cards.jsonl' }))).rejects.toMatchObject({ code: 'REPORT_UNWRITABLE' });
    expect(t.station.status().state).toBe('idle');
  });

  it('refuses a second arming while armed, and a URL image, before touching anything', async () => {
    const t = setup();
    live = t.station;
    await expect(t.station.arm(options({ imagePath: 'https://example.com/os.img' }))).rejects.toMatchObject({ code: 'USAGE' });
    await t.station.arm(options());
    await expect(t.station.arm(options())).rejects.toMatchObject({ code: 'USAGE' });
  });
});
