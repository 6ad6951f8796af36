import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DriveInfo, FlashEvent, ImageInfo } from '../../src/shared/api';
import type { CardIdentity } from '../../src/shared/card-identity';
import type { BatchReport, FlashReport } from '../../src/shared/report';
import type { FlashJob } from '../../src/main/engine/protocol';
import type { EngineJobHandlers } from '../../src/main/engine/worker-client';
import { createFlashHistory } from '../../src/main/history/flash-recorder';
import { openHistory } from '../../src/main/history/history-store';
import { createFlashService } from '../../src/main/services/flash-service';
import { createSettingsService } from '../../src/main/services/settings-service';

// The app's flash service records every card a copy job wrote in the history (the GUI's history is real),
// and a history that cannot be written changes no verdict.
const dir = mkdtempSync(join(tmpdir(), 'sureflash-flash-history-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const card: DriveInfo = {
  device: '/dev/sdx', raw: '/dev/sdx', description: 'Card', size: 8e9, isSystem: false, isRemovable: true, isReadOnly: false,
  isVirtual: false, isCard: true, isUSB: true, isLoop: false, busType: 'USB', mountpoints: [],
};
const image: ImageInfo = {
  path: '/images/os.img', name: 'os.img', fileSize: 1e6, compression: 'none', imageSize: 1e9, bmap: null, diskSignature: 'mbr', warnings: [],
  source: 'file', signature: { status: 'unsigned' }, checksum: { kind: 'sha256', status: 'none' },
};
const identity: CardIdentity = {
  device: '/dev/sdx', name: 'sdx', devNumber: '8:16', bus: 'usb', vendor: 'SanDisk', model: 'Cruzer Blade', serial: '4C530001', serialScope: 'card',
  serialScopeReason: 'stick', cid: null, sizeBytes: 8e9, removable: true, readOnly: false,
  location: { sysfsPath: '/devices/usb1/1-2/block/sdx', slot: '/devices/usb1/1-2', lun: 0 }, usb: null, backingFile: null, fingerprint: null,
  cardId: 'sn-sandisk-cruzer_blade-4c530001', idSource: 'serial',
};
const report = (status: FlashReport['status'], bad = 0): FlashReport =>
  ({
    status, mode: 'copy', startedAt: '2026-01-01T10:00:00.000Z', finishedAt: '2026-01-01T10:00:10.000Z',
    image: { path: '/images/os.img', size: 1e9, imageSize: 1e9 }, bmap: null, target: { path: '/dev/sdx', size: 8e9, kind: 'block-device' },
    ranges: [{ index: 0, first: 0, last: 9, bytes: 40960, state: 'verified', retries: 0, rewrittenBlocks: 0, ...(bad ? { badBlocks: [{ first: 1, last: bad }] } : {}) }],
    totals: { bytesWritten: 1e9, mappedBytes: 1e9, bytesReadBack: 1e9, retries: 0, rewrittenBlocks: 0, badRanges: 0, verifiedRanges: 1, retriedRanges: 0 },
    timings: { preparingMs: 0, copyMs: 10_000, flushMs: 0, totalMs: 10_000, sourceMs: 0, writeMs: 5000, readbackMs: 0 },
    averageSpeed: 1e8, probe: null,
  }) as unknown as FlashReport;

function setup(historyFile: string) {
  const log: string[] = [];
  const jobs: FlashJob[] = [];
  let finish: (r: FlashReport) => void = () => undefined;
  const history = createFlashHistory(historyFile);
  const service = createFlashService({
    listDrives: async () => [card],
    probeImage: async () => image,
    unmount: async () => undefined,
    eject: async () => undefined,
    settings: createSettingsService(mkdtempSync(join(dir, 'settings-'))),
    canWrite: async () => true,
    runEngine: (job: FlashJob, handlers: EngineJobHandlers) => {
      jobs.push(job);
      let resolve!: (b: BatchReport) => void;
      const done = new Promise<BatchReport>((r) => (resolve = r));
      finish = (r) => {
        handlers.onTargetDone?.(0, r);
        resolve({ kind: 'batch', status: r.status, cards: [r], summary: {} } as unknown as BatchReport);
      };
      return { cancel: () => undefined, done };
    },
    pinDrive: () => {
      throw new Error('not elevated in this test');
    },
    elevate: () => {
      throw new Error('not elevated in this test');
    },
    history,
    identify: async () => identity,
    log: (level, message) => void log.push(`${level} ${message}`),
  });
  const events: FlashEvent[] = [];
  service.subscribe((e) => events.push(e));
  const ended = async (): Promise<FlashEvent> => {
    for (;;) {
      const end = events.find((e) => e.type === 'done' || e.type === 'error');
      if (end) return end;
      await new Promise((r) => setImmediate(r));
    }
  };
  return { service, jobs, log, ended, finish: (r: FlashReport) => finish(r), history };
}

describe('the flash service records in the history', () => {
  it('each card of a copy job, under the identity read before the flash, with its health', async () => {
    const file = join(dir, 'ok.sqlite');
    const t = setup(file);
    await t.service.start({ imagePath: '/images/os.img', devices: ['/dev/sdx'], readback: true, retries: 1, acknowledged: [] });
    while (t.jobs.length === 0) await new Promise((r) => setImmediate(r));
    expect(t.jobs[0]!.targets[0]!.identity).toMatchObject({ cardId: 'sn-sandisk-cruzer_blade-4c530001', slot: '/devices/usb1/1-2' });
    t.finish(report('failed', 3));
    const end = await t.ended();
    expect(end).toMatchObject({ type: 'done', report: { status: 'failed' } });
    t.history.close();
    const rows = openHistory(file, { create: false }).flashes();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ card: { cardId: 'sn-sandisk-cruzer_blade-4c530001', slot: '/devices/usb1/1-2' }, sessionId: null, outcome: { status: 'failed', badBlocks: 3 }, health: { verdict: 'retire' } });
  });

  it('a history that cannot be written is logged as a warning; the verdict stands', async () => {
    const t = setup(join(dir, 'not-a-dir.txt', 'history.sqlite'));
    await import('node:fs').then((fs) => fs.writeFileSync(join(dir, 'not-a-dir.txt'), 'x'));
    await t.service.start({ imagePath: '/images/os.img', devices: ['/dev/sdx'], readback: true, retries: 1, acknowledged: [] });
    while (t.jobs.length === 0) await new Promise((r) => setImmediate(r));
    t.finish(report('verified'));
    expect(await t.ended()).toMatchObject({ type: 'done', report: { status: 'verified' } });
    expect(t.log.some((l) => /^warn .*\/dev\/sdx: the history could not be read: .*not-a-dir\.txt/.test(l))).toBe(true);
  });
});
