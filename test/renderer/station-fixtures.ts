/** Station events and results for renderer tests, shaped as main sends them (src/shared/station.ts). */
import type { CardIdentity } from '../../src/shared/card-identity';
import type { HealthAssessment } from '../../src/shared/health-rules';
import type { StationCardResult, StationCardVerdict, StationEvent, StationOptions, StationRefusal, StationSummary } from '../../src/shared/station';

export const SESSION = 'session-1';

export const stationOptions = (over: Partial<StationOptions> = {}): StationOptions => ({
  imagePath: '/images/os.img.zst',
  retries: 3,
  skipIdentical: false,
  readback: true,
  probe: true,
  maxCards: 4,
  slots: [],
  maxSizeBytes: 128e9,
  logFile: null,
  ...over,
});

export const refusal = (device: string, code: StationRefusal['code'] = 'PRESENT_AT_ARMING'): StationRefusal => ({
  device,
  description: code === 'TOO_LARGE' ? 'External disk' : 'Generic SD card',
  size: code === 'TOO_LARGE' ? 256e9 : 16e9,
  code,
  message: code === 'PRESENT_AT_ARMING' ? 'It was present when the station was armed.' : 'It is larger than the station takes (128 GB).',
});

export function armed(untouched: string[] = ['/dev/sda'], over: Partial<StationOptions> = {}): StationEvent {
  return {
    type: 'armed',
    sessionId: SESSION,
    station: 'bench-1',
    at: '2026-12-06T09:00:00.000Z',
    options: stationOptions(over),
    image: { path: '/images/os.img.zst', name: 'os.img.zst', imageSize: 2e9, bmapPath: '/images/os.img.bmap' },
    untouched: untouched.map((d) => refusal(d)),
  };
}

export function identity(device: string, over: Partial<CardIdentity> = {}): CardIdentity {
  const name = device.replace('/dev/', '');
  return {
    device,
    name,
    devNumber: '7:0',
    bus: 'usb',
    vendor: 'SanDisk',
    model: 'Ultra',
    serial: null,
    serialScope: 'unknown',
    serialScopeReason: '',
    cid: null,
    sizeBytes: 32e9,
    removable: true,
    readOnly: false,
    location: { sysfsPath: `/devices/pci0000:00/usb2/2-1/block/${name}`, slot: `/devices/pci0000:00/usb2/2-1.${name.slice(-1)}`, lun: 0 },
    usb: null,
    backingFile: null,
    fingerprint: 'ab'.repeat(32),
    cardId: `fp-32000000000-${name}`,
    idSource: 'fingerprint',
    ...over,
  };
}

export function taken(card: number, device: string): StationEvent {
  const id = identity(device);
  return { type: 'card-taken', sessionId: SESSION, card, device, slot: id.location.slot, description: 'SanDisk Ultra', size: 32e9, identity: id };
}

export function progress(card: number, device: string, percent: number): StationEvent {
  return {
    type: 'card-progress',
    sessionId: SESSION,
    card,
    device,
    progress: { percent, phase: 'writing', speed: 20e6, bytesDone: percent * 1e6, bytesTotal: 100e6, etaSeconds: 3, retries: 0 },
  };
}

export function result(card: number, device: string, verdict: StationCardVerdict, health: HealthAssessment | null, over: Partial<StationCardResult['summary']> = {}): StationCardResult {
  const id = identity(device);
  return {
    card,
    device,
    slot: id.location.slot,
    identity: id,
    verdict,
    health,
    summary: {
      startedAt: '2026-12-06T09:01:00.000Z',
      finishedAt: '2026-12-06T09:02:00.000Z',
      durationMs: 60_000,
      retries: 0,
      rewrittenBlocks: 0,
      badBlocks: 0,
      skippedBlocks: 0,
      probe: { ok: true, claimedBytes: 32e9, realBytes: null },
      bytesWritten: 100e6,
      averageSpeed: 18e6,
      writeSpeed: 20e6,
      unsafeToUse: verdict !== 'verified',
      error: verdict === 'failed' ? { code: 'READBACK_MISMATCH', message: '3 blocks did not hold after 3 rewrites' } : null,
      ...over,
    },
    report: null,
    recorded: { historyId: card, historyError: null, logged: true, logError: null },
  };
}

export const KEEP: HealthAssessment = { verdict: 'keep', reasons: [] };
export const RETIRE: HealthAssessment = { verdict: 'retire', reasons: [{ code: 'BAD_BLOCKS', verdict: 'retire', message: '3 blocks never held: the card is failing.' }] };
export const WATCH: HealthAssessment = { verdict: 'watch', reasons: [{ code: 'RETRIES', verdict: 'watch', message: '2 rewrites were needed.' }] };

export const done = (r: StationCardResult): StationEvent => ({ type: 'card-done', sessionId: SESSION, result: r });

export function summary(over: Partial<StationSummary> = {}): StationSummary {
  return {
    sessionId: SESSION,
    station: 'bench-1',
    startedAt: '2026-12-06T09:00:00.000Z',
    stoppedAt: '2026-12-06T09:10:00.000Z',
    taken: 2,
    verified: 2,
    failed: 0,
    cancelled: 0,
    writtenUnverified: 0,
    lost: 0,
    health: { keep: 2, watch: 0, retire: 0 },
    allVerified: true,
    ...over,
  };
}
