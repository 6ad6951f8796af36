/**
 * What the layout suite shows: realistic drives, an image with a long name, a job over several cards with
 * every kind of outcome, built as main would send them (the shapes of src/shared).
 */
import { DEFAULT_SETTINGS, type AppInfo, type DriveInfo, type FlashEvent, type ImageInfo } from '../../src/shared/api';
import { batchStatus, batchSummary, type BatchReport, type FlashLayout, type FlashProgress, type FlashReport, type RangeReport } from '../../src/shared/report';
import type { Scenario } from './scripted-api';

const GB = 1e9;
const BLOCK = 4096;

export function scenarioDrive(overrides: Partial<DriveInfo> & { device: string }): DriveInfo {
  return {
    raw: overrides.device,
    description: 'SD card',
    size: 32 * GB,
    isSystem: false,
    isRemovable: true,
    isReadOnly: false,
    isVirtual: false,
    isCard: true,
    isUSB: true,
    isLoop: false,
    busType: 'USB',
    mountpoints: [],
    ...overrides,
  };
}

export const drives: DriveInfo[] = [
  scenarioDrive({ device: '/dev/sdb', description: 'SanDisk Ultra microSDXC UHS-I', size: 31.9 * GB, location: '/sys/devices/pci0000:00/usb1/1-1/1-1.1' }),
  scenarioDrive({ device: '/dev/sdc', description: 'Generic STORAGE DEVICE', size: 15.9 * GB, mountpoints: ['/media/tech/bootfs', '/media/tech/rootfs'], location: '/sys/devices/pci0000:00/usb1/1-1/1-1.2' }),
  scenarioDrive({ device: '/dev/sdd', description: 'Kingston Canvas Select Plus', size: 63.9 * GB, location: '/sys/devices/pci0000:00/usb1/1-1/1-1.3' }),
  scenarioDrive({ device: '/dev/sde', description: 'Samsung EVO Plus', size: 127.9 * GB, location: '/sys/devices/pci0000:00/usb1/1-1/1-1.4' }),
  scenarioDrive({ device: '/dev/sdf', description: 'Locked card', size: 7.9 * GB, isReadOnly: true }),
  scenarioDrive({ device: '/dev/sdg', description: 'WD Elements backup', size: 2000 * GB, isCard: false }),
  scenarioDrive({ device: '/dev/vda', description: '0x1af4', size: 274.9 * GB, isSystem: true, isRemovable: false, isCard: false, isUSB: false, busType: 'UNKNOWN', mountpoints: ['/'] }),
];

export const image: ImageInfo & { source: 'url'; signature: { status: 'valid'; signer: string; fingerprint: string }; checksum: { kind: 'sha256'; status: 'matches'; source: string } } = {
  path: '/home/tech/Downloads/2026-01-15-raspios-bookworm-arm64-lite-with-a-long-name.img.xz',
  name: '2026-01-15-raspios-bookworm-arm64-lite-with-a-long-name.img.xz',
  fileSize: 512e6,
  compression: 'xz',
  imageSize: 2.7 * GB,
  bmap: { path: '/home/tech/Downloads/2026-01-15-raspios-bookworm-arm64-lite.img.bmap', version: '2.0', checksumType: 'sha256', imageSize: 2.7 * GB, blockSize: BLOCK, mappedBytes: 1.61 * GB, rangesCount: 40 },
  warnings: [],
  diskSignature: 'mbr',
  source: 'url',
  signature: { status: 'valid', signer: 'Raspberry Pi Foundation <releases@raspberrypi.com>', fingerprint: '54C3DD610D9D1B4AF82A37758738CD6B956F460C' },
  checksum: { kind: 'sha256', status: 'matches', source: 'SHA256SUMS' },
};

export const appInfo: AppInfo = {
  version: '0.1.0',
  platform: 'linux x64',
  dataDir: '/home/tech/.config/Sureflash',
  reportsDir: '/home/tech/Documents/Sureflash reports',
  logFile: '/home/tech/.config/Sureflash/logs/sureflash.log',
};

export const scenario: Scenario = { drives, image, settings: { ...DEFAULT_SETTINGS, retries: 3 }, appInfo };

/** 40 ranges over 2.7 GB: two big ones, a cluster of small ones, a few in between. */
export const layout: FlashLayout = (() => {
  const blocks = Math.floor((2.7 * GB) / BLOCK);
  const spans: [number, number][] = [
    [0, 2047],
    [8192, 139_263],
  ];
  for (let i = 0; i < 30; i += 1) spans.push([200_000 + i * 3000, 200_000 + i * 3000 + 40]);
  for (let i = 0; i < 7; i += 1) spans.push([320_000 + i * 20_000, 320_000 + i * 20_000 + 12_000]);
  spans.push([480_000, blocks - 1]);
  const ranges = spans.map(([first, last], index) => ({ index, first, last, bytes: (last - first + 1) * BLOCK }));
  return { imageSize: blocks * BLOCK, blockSize: BLOCK, mappedBytes: ranges.reduce((n, r) => n + r.bytes, 0), ranges };
})();

const ranges = (state: (index: number) => Partial<RangeReport>): RangeReport[] =>
  layout.ranges.map((r) => ({ ...r, state: 'verified', retries: 0, rewrittenBlocks: 0, retriedBlocks: 0, ...state(r.index) }));

function cardReport(device: string, status: FlashReport['status'], list: RangeReport[], extra: Partial<FlashReport> = {}): FlashReport {
  return {
    version: 2,
    kind: 'card',
    tool: { name: 'sureflash', version: '0.1.0' },
    mode: 'copy',
    startedAt: '2026-01-15T09:00:00.000Z',
    finishedAt: '2026-01-15T09:01:12.000Z',
    image: { path: image.path, size: image.fileSize, imageSize: layout.imageSize, compression: 'xz', decoder: 'xz (system)' },
    bmap: { path: image.bmap?.path ?? '', version: '2.0', checksumType: 'sha256', mappedBytes: layout.mappedBytes, blockSize: BLOCK },
    target: { path: device, size: 32 * GB, kind: 'block-device', writeCache: 'write back' },
    options: { readback: true, verifySource: true, retries: 3, probe: true },
    readback: 'direct',
    verification: { afterFlush: true, flushes: 4, finalPass: { bytes: 64e6, firstBytes: 32e6, lastBytes: 32e6, markers: 16, mismatchedBlocks: 0 } },
    probe: { status: 'passed', markers: 64, claimedBytes: 32 * GB, realBytesEstimate: null, message: null },
    status,
    unsafeToUse: status === 'failed' || status === 'cancelled',
    blockSize: BLOCK,
    ranges: list,
    totals: {
      mappedBytes: layout.mappedBytes,
      bytesWritten: layout.mappedBytes,
      bytesReadBack: layout.mappedBytes,
      retries: list.reduce((n, r) => n + r.retries, 0),
      rewrittenBlocks: list.reduce((n, r) => n + r.rewrittenBlocks, 0),
      retriedBlocks: list.reduce((n, r) => n + (r.retriedBlocks ?? 0), 0),
      badRanges: list.filter((r) => r.state === 'failed').length,
      verifiedRanges: list.filter((r) => r.state === 'verified').length,
      retriedRanges: list.filter((r) => r.retries > 0).length,
      sourceMismatchRanges: list.filter((r) => r.state === 'source-mismatch').length,
    },
    timings: { preparingMs: 800, copyMs: 64_000, flushMs: 3000, totalMs: 72_000, sourceMs: 20_000, writeMs: 40_000, readbackMs: 12_000 },
    averageSpeed: 24.1e6,
    ...extra,
  };
}

export const reports = {
  verified: (device: string) => cardReport(device, 'verified', ranges((i) => (i === 5 ? { retries: 2, rewrittenBlocks: 3, retriedBlocks: 2, retriedSpans: [{ first: 215_010, last: 215_011 }] } : {}))),
  worn: (device: string) =>
    cardReport(
      device,
      'failed',
      ranges((i) => (i === 1 ? { state: 'failed', retries: 3, rewrittenBlocks: 12, retriedBlocks: 4, badBlocks: [{ first: 70_000, last: 70_003 }] } : {})),
      { error: { code: 'READBACK_MISMATCH', message: 'blocks 70000-70003 did not hold the written data after 3 retries (retries exhausted): range 2' } },
    ),
  corrupt: (device: string) =>
    cardReport(
      device,
      'failed',
      ranges((i) => (i === 33 ? { state: 'source-mismatch' } : i > 33 ? { state: 'pending' } : {})),
      { error: { code: 'SOURCE_CHECKSUM_MISMATCH', message: `image ${image.path} is corrupted: range 34 (blocks 340000-352000) does not match the bmap checksum` } },
    ),
  cancelled: (device: string) => cardReport(device, 'cancelled', ranges((i) => (i > 12 ? { state: 'pending' } : {})), { error: { code: 'CANCELLED', message: 'Cancelled' } }),
};

export function batchOf(cards: FlashReport[]): BatchReport {
  const first = cards[0] ?? reports.verified('/dev/sdb');
  return { version: 2, kind: 'batch', tool: first.tool, mode: 'copy', startedAt: first.startedAt, finishedAt: '2026-01-15T09:01:13.000Z', image: first.image, bmap: first.bmap, status: batchStatus(cards), cards, summary: batchSummary(cards) };
}

export const started = (devices: string[]): FlashEvent => ({
  type: 'started',
  jobId: 'job-1',
  layout,
  targets: devices.map((device) => {
    const drive = drives.find((d) => d.device === device);
    return { device, description: drive?.description ?? device, size: drive?.size ?? null, identity: null };
  }),
});

/** A card part-way: the first `done` ranges verified (range 1 after a rewrite), the next being written, half done. */
export function progressAt(device: string, done: number, extra: Partial<FlashProgress> = {}): FlashEvent {
  const writing = layout.ranges[done];
  const bytesBefore = layout.ranges.slice(0, done).reduce((n, r) => n + r.bytes, 0);
  const changes: FlashProgress['rangeChanges'] = layout.ranges.slice(0, done).map((r) => ({ index: r.index, state: 'verified', retries: r.index === 1 ? 1 : 0 }));
  if (writing) changes.push({ index: writing.index, state: 'writing', retries: 0, doneBytes: Math.floor(writing.bytes / 2) });
  // The range being rewritten is painted so, as the engine reports it.
  const rewriting = extra.activity?.kind === 'rewriting' ? extra.activity.range : null;
  if (rewriting !== null) for (const change of changes) if (change.index === rewriting) Object.assign(change, { state: 'retrying', retries: 1 });
  return {
    type: 'progress',
    jobId: 'job-1',
    device,
    progress: {
      phase: 'writing',
      bytesDone: bytesBefore + Math.floor((writing?.bytes ?? 0) / 2),
      bytesTotal: layout.mappedBytes,
      speed: 23.4e6,
      etaSeconds: 48,
      retries: 1,
      activity: null,
      download: { bytes: 310e6, speed: 11.2e6 },
      rangeChanges: changes,
      ...extra,
    },
  };
}
