/**
 * A fake Api for renderer tests: the edge of the renderer. Records calls, answers with set values and
 * lets a test push drive lists and flash events as main would.
 */
import { DEFAULT_SETTINGS, type Api, type CardHistory, type StationRequest, type ConfirmRequest, type DriveInfo, type FlashEvent, type FlashRequest, type ImageInfo, type JobTarget, type Settings } from '../../src/shared/api';
import { batchStatus, batchSummary, type BatchReport, type FlashLayout, type FlashReport, type RangeReport } from '../../src/shared/report';
import { ok, type Result } from '../../src/shared/result';
import type { StationEvent, StationStatus } from '../../src/shared/station';

export interface FakeApi extends Api {
  calls: { method: string; args: unknown[] }[];
  flashRequests: FlashRequest[];
  pickResult: Result<ImageInfo | null>;
  flashResult: Result<{ jobId: string }>;
  droppedPath: string | null;
  /** What cardHistory / historyCards answer. */
  history: CardHistory[];
  stationRequests: StationRequest[];
  /** What armStation answers (default: armed, as main would, with its "armed" event pushed first). */
  armResult: Result<StationStatus> | null;
  stationState: StationStatus;
  pushStation(event: StationEvent): void;
  pushDrives(drives: DriveInfo[]): void;
  pushFlash(event: FlashEvent): void;
  /** Asks a question as the browser host would. */
  pushConfirm(request: ConfirmRequest): void;
}

export function drive(overrides: Partial<DriveInfo> & { device: string }): DriveInfo {
  return {
    raw: overrides.device,
    description: 'Generic SD card',
    size: 16e9,
    isSystem: false,
    isRemovable: true,
    isReadOnly: false,
    isVirtual: false,
    isCard: true,
    isUSB: false,
    isLoop: false,
    busType: 'USB',
    mountpoints: [],
    ...overrides,
  };
}

export function image(overrides: Partial<ImageInfo> = {}): ImageInfo {
  return {
    path: '/images/os.img.zst',
    name: 'os.img.zst',
    fileSize: 300e6,
    compression: 'zstd',
    imageSize: 2e9,
    bmap: { path: '/images/os.img.bmap', version: '2.0', checksumType: 'sha256', imageSize: 2e9, blockSize: 4096, mappedBytes: 5e8, rangesCount: 3 },
    diskSignature: 'gpt',
    warnings: [],
    source: 'file', signature: { status: 'unsigned' }, checksum: { kind: 'sha256', status: 'none' },
    ...overrides,
  };
}

/** Three ranges of a 1 MiB image with 4 KiB blocks: blocks 0–9, 100–109, 200–255. */
export const layout: FlashLayout = {
  imageSize: 256 * 4096,
  blockSize: 4096,
  mappedBytes: (10 + 10 + 56) * 4096,
  ranges: [
    { index: 0, first: 0, last: 9, bytes: 10 * 4096 },
    { index: 1, first: 100, last: 109, bytes: 10 * 4096 },
    { index: 2, first: 200, last: 255, bytes: 56 * 4096 },
  ],
};

export function report(status: FlashReport['status'], ranges: Partial<RangeReport>[] = [], extra: Partial<FlashReport> = {}): FlashReport {
  const full: RangeReport[] = layout.ranges.map((r, i) => ({ ...r, retries: 0, rewrittenBlocks: 0, state: 'verified', ...(ranges[i] ?? {}) }));
  return {
    version: 2,
    kind: 'card',
    tool: { name: 'sureflash', version: '0.1.0' },
    mode: 'copy',
    startedAt: '2026-01-01T00:00:00.000Z',
    image: { path: '/images/os.img', size: layout.imageSize, imageSize: layout.imageSize, compression: 'none', decoder: 'none' },
    bmap: null,
    target: { path: '/dev/sdz', size: 16e9, kind: 'block-device' },
    options: { readback: true, verifySource: true, retries: 3 },
    readback: 'direct',
    status,
    blockSize: 4096,
    ranges: full,
    totals: {
      mappedBytes: layout.mappedBytes,
      bytesWritten: layout.mappedBytes,
      bytesReadBack: layout.mappedBytes,
      retries: full.reduce((n, r) => n + r.retries, 0),
      rewrittenBlocks: full.reduce((n, r) => n + r.rewrittenBlocks, 0),
      badRanges: full.filter((r) => r.state === 'failed').length,
      verifiedRanges: full.filter((r) => r.state === 'verified').length,
      retriedRanges: full.filter((r) => r.retries > 0).length,
    },
    timings: { preparingMs: 10, copyMs: 2000, flushMs: 400, totalMs: 2410, sourceMs: 100, writeMs: 1500, readbackMs: 400 },
    averageSpeed: 12.5e6,
    ...extra,
  };
}

/** The card of the usual test job. */
export const targets: JobTarget[] = [{ device: '/dev/sdb', description: 'Generic SD card', size: 16e9, identity: null }];

/** A batch report around card reports (what `done` carries). */
export function batch(...cards: FlashReport[]): BatchReport {
  const first = cards[0] ?? report('failed');
  return {
    version: 2,
    kind: 'batch',
    tool: first.tool,
    mode: first.mode,
    startedAt: first.startedAt,
    finishedAt: '2026-01-01T00:00:03.000Z',
    image: first.image,
    bmap: first.bmap,
    status: batchStatus(cards),
    cards,
    summary: batchSummary(cards),
  };
}

export function createFakeApi(initialDrives: DriveInfo[] = []): FakeApi {
  const driveListeners = new Set<(drives: DriveInfo[]) => void>();
  const flashListeners = new Set<(event: FlashEvent) => void>();
  const confirmListeners = new Set<(request: ConfirmRequest) => void>();
  const stationListeners = new Set<(event: StationEvent) => void>();
  let settings: Settings = { ...DEFAULT_SETTINGS };
  const fake: FakeApi = {
    calls: [],
    flashRequests: [],
    pickResult: ok(image()),
    flashResult: ok({ jobId: 'job-1' }),
    droppedPath: null,
    history: [],
    stationRequests: [],
    armResult: null,
    stationState: { state: 'idle', sessionId: null, station: null, options: null, image: null, untouched: [], cards: [], summary: null },
    pushStation: (event) => stationListeners.forEach((l) => l(event)),
    pushDrives: (drives) => driveListeners.forEach((l) => l(drives)),
    pushFlash: (event) => flashListeners.forEach((l) => l(event)),
    pushConfirm: (request) => confirmListeners.forEach((l) => l(request)),
    async listDrives() {
      fake.calls.push({ method: 'listDrives', args: [] });
      return ok(initialDrives);
    },
    onDrives(listener) {
      driveListeners.add(listener);
      return () => driveListeners.delete(listener);
    },
    async pickImage() {
      fake.calls.push({ method: 'pickImage', args: [] });
      return fake.pickResult;
    },
    async probeImage(path) {
      fake.calls.push({ method: 'probeImage', args: [path] });
      return ok(image({ path, name: path.split('/').pop() ?? path }));
    },
    async getSettings() {
      return ok(settings);
    },
    async setSettings(patch) {
      fake.calls.push({ method: 'setSettings', args: [patch] });
      settings = { ...settings, ...patch };
      return ok(settings);
    },
    async flash(request) {
      fake.flashRequests.push(request);
      return fake.flashResult;
    },
    async cancel(jobId, device) {
      fake.calls.push({ method: 'cancel', args: device === undefined ? [jobId] : [jobId, device] });
      return ok(null);
    },
    onConfirm(listener) {
      confirmListeners.add(listener);
      return () => confirmListeners.delete(listener);
    },
    async answerConfirm(id, accepted) {
      fake.calls.push({ method: 'answerConfirm', args: [id, accepted] });
      return ok(null);
    },
    async saveReport(jobId) {
      fake.calls.push({ method: 'saveReport', args: [jobId] });
      return ok(`/tmp/sureflash-report-${jobId}.json`);
    },
    onFlashEvent(listener) {
      flashListeners.add(listener);
      return () => flashListeners.delete(listener);
    },
    pathForFile: () => fake.droppedPath,
    async armStation(request) {
      fake.stationRequests.push(request);
      return fake.armResult ?? ok(fake.stationState);
    },
    async stopStation(cancel) {
      fake.calls.push({ method: 'stopStation', args: cancel === undefined ? [] : [cancel] });
      return ok(fake.stationState);
    },
    async cancelStationCard(card) {
      fake.calls.push({ method: 'cancelStationCard', args: [card] });
      return ok(null);
    },
    async stationStatus() {
      return ok(fake.stationState);
    },
    onStationEvent(listener) {
      stationListeners.add(listener);
      return () => stationListeners.delete(listener);
    },
    async historyCards() {
      fake.calls.push({ method: 'historyCards', args: [] });
      return ok(fake.history.map((h) => h.summary));
    },
    async cardHistory(cardId) {
      fake.calls.push({ method: 'cardHistory', args: [cardId] });
      return ok(fake.history.find((h) => h.summary.card.cardId === cardId) ?? null);
    },
    async getAppInfo() {
      return ok({ version: '0.1.0', platform: 'linux', dataDir: '/home/user/.config/sureflash', reportsDir: null, logFile: null });
    },
  };
  return fake;
}
