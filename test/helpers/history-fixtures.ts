/** FlashRecords for history tests: a clean verified flash of one card, with whatever a case overrides. */
import type { FlashOutcome } from '../../src/shared/health-rules';
import type { CardRecord, FlashRecord } from '../../src/shared/history-types';

export const MB = 1e6;

export const sdCard: CardRecord = {
  cardId: 'cid-035344534e333247801a2b3c4d0154',
  idSource: 'cid',
  bus: 'mmc',
  vendor: null,
  model: 'SN32G',
  serial: '1a2b3c4d',
  serialScope: 'card',
  cid: '035344534e333247801a2b3c4d015400',
  sizeBytes: 31914983424,
  slot: '/devices/platform/emmc2bus/fe340000.mmc',
  device: '/dev/mmcblk0',
};

export const usbStickCard: CardRecord = {
  cardId: 'sn-sandisk-cruzer_blade-4c530001130508108204',
  idSource: 'serial',
  bus: 'usb',
  vendor: 'SanDisk',
  model: 'Cruzer Blade',
  serial: '4C530001130508108204',
  serialScope: 'card',
  cid: null,
  sizeBytes: 15376318464,
  slot: '/devices/pci0000:00/0000:00:14.0/usb1/1-2',
  device: '/dev/sdd',
};

export function outcome(over: Partial<FlashOutcome> = {}): FlashOutcome {
  return {
    status: 'verified',
    errorCode: null,
    retries: 0,
    rewrittenBlocks: 0,
    badBlocks: 0,
    skippedBlocks: 0,
    probe: { ok: true, claimedBytes: 31914983424 },
    averageSpeed: 18 * MB,
    writeSpeed: 20 * MB,
    ...over,
  };
}

export function flashRecord(over: Partial<Omit<FlashRecord, 'outcome'>> & { outcome?: Partial<FlashOutcome> } = {}): FlashRecord {
  const { outcome: outcomeOver, ...rest } = over;
  return {
    card: sdCard,
    sessionId: null,
    station: 'bench-1',
    startedAt: '2025-03-01T09:00:00.000Z',
    finishedAt: '2025-03-01T09:01:40.000Z',
    durationMs: 100_000,
    image: { name: 'os.img.xz', hash: 'ab'.repeat(32), size: 2_147_483_648 },
    bmap: { name: 'os.img.bmap', hash: 'cd'.repeat(32) },
    errorMessage: null,
    health: { verdict: 'keep', reasons: [] },
    ...rest,
    outcome: outcome(outcomeOver),
  };
}
