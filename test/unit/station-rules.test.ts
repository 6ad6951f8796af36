import { describe, expect, it } from 'vitest';
import type { DriveInfo } from '../../src/shared/api';
import { LARGE_DRIVE_BYTES } from '../../src/shared/drive-rules';
import type { StationCard, StationCardResult } from '../../src/shared/station';
import {
  isOnSlots,
  judgeStationDrive,
  mediumKey,
  newMedia,
  stationExitCode,
  stationLogRecord,
  stationSummary,
  type StationTakeContext,
} from '../../src/shared/station-rules';
import { parseSize, parseStationArgs, DEFAULT_MAX_CARDS } from '../../src/main/cli/station-args';
import { UsageError } from '../../src/main/cli/flash-args';

const card: DriveInfo = {
  device: '/dev/sdc', raw: '/dev/sdc', description: 'Card reader', size: 32e9, isSystem: false, isRemovable: true, isReadOnly: false,
  isVirtual: false, isCard: true, isUSB: true, isLoop: false, busType: 'USB', mountpoints: [],
};
// What drivelist lists on this machine besides loop devices: the system disk and a zram swap device.
const vda: DriveInfo = { ...card, device: '/dev/vda', raw: '/dev/vda', description: 'virtio disk', size: 274.9e9, isSystem: true, isRemovable: false, isCard: false, isUSB: false };
const zram: DriveInfo = { ...card, device: '/dev/zram0', raw: '/dev/zram0', description: 'Unknown drive', size: null, isVirtual: true, isCard: false, isUSB: false };
const loop: DriveInfo = { ...card, device: '/dev/loop61', raw: '/dev/loop61', description: 'Loop device (c1.bin)', size: 64 * 2 ** 20, isVirtual: true, isLoop: true, isCard: false, isUSB: false, busType: 'LOOP' };
const usbPort = '/devices/pci0000:00/0000:00:14.0/usb2/2-1';
const ctx = (over: Partial<StationTakeContext> = {}): StationTakeContext => ({
  imagePath: '/srv/images/os.img', imageSize: 4e9, maxSizeBytes: null, slots: [], allDrives: [card, vda, zram], ...over,
});

describe('which drive the station takes', () => {
  it('takes a card that passes every rule, and a loop device (listed only with --allow-loop)', () => {
    expect(judgeStationDrive(card, `${usbPort}.3`, ctx())).toBeNull();
    expect(judgeStationDrive(loop, '/devices/virtual/block/loop61', ctx({ imageSize: 24e6 }))).toBeNull();
  });

  it('never takes the system disk, even below the size limit and with nothing else wrong', () => {
    expect(judgeStationDrive(vda, null, ctx())?.code).toBe('SYSTEM_DRIVE');
    expect(judgeStationDrive({ ...vda, size: 8e9 }, null, ctx({ maxSizeBytes: 1e12 }))?.code).toBe('SYSTEM_DRIVE');
  });

  it('refuses zram (virtual, no size), a read-only card and the drive holding the image', () => {
    expect(judgeStationDrive(zram, null, ctx())?.code).toBe('VIRTUAL');
    expect(judgeStationDrive({ ...zram, isVirtual: false }, null, ctx())?.code).toBe('UNKNOWN_SIZE');
    expect(judgeStationDrive({ ...card, isReadOnly: true }, null, ctx())?.code).toBe('READ_ONLY');
    const holder = { ...card, mountpoints: ['/srv'] };
    expect(judgeStationDrive(holder, null, ctx({ allDrives: [holder, vda] }))?.code).toBe('SOURCE_DRIVE');
  });

  it('refuses drives above the limit: 128 GB unless the user set one, then the user\'s', () => {
    const disk = { ...card, size: 500e9 };
    expect(judgeStationDrive(disk, null, ctx())?.code).toBe('TOO_LARGE');
    expect(judgeStationDrive({ ...card, size: LARGE_DRIVE_BYTES }, null, ctx())).toBeNull();
    expect(judgeStationDrive(disk, null, ctx({ maxSizeBytes: 1e12 }))).toBeNull();
    expect(judgeStationDrive(card, null, ctx({ maxSizeBytes: 16e9 }))).toMatchObject({ code: 'TOO_LARGE', device: '/dev/sdc' });
    expect(judgeStationDrive({ ...card, size: 2e9 }, null, ctx())?.code).toBe('TOO_SMALL');
  });

  it('with slots, takes only drives on them, on whole path segments', () => {
    const slots = [usbPort];
    expect(judgeStationDrive(card, `${usbPort}/2-1.3`, ctx({ slots }))).toBeNull();
    expect(judgeStationDrive(card, usbPort, ctx({ slots }))).toBeNull();
    expect(judgeStationDrive(card, `${usbPort}0`, ctx({ slots }))?.code).toBe('OTHER_SLOT');
    expect(judgeStationDrive(card, null, ctx({ slots }))?.code).toBe('OTHER_SLOT');
    expect(isOnSlots('/devices/virtual/block/loop6', ['/devices/virtual/block/loop60'])).toBe(false);
    expect(isOnSlots(null, [])).toBe(true);
  });
});

describe('telling a new card from one seen before', () => {
  it('an empty reader that gets a card, and a card swapped between polls, are new; the same medium is not', () => {
    const empty = mediumKey({ device: '/dev/sdc', size: null }, '7');
    const inserted = mediumKey({ device: '/dev/sdc', size: 32e9 }, '8');
    const swapped = mediumKey({ device: '/dev/sdc', size: 32e9 }, '9');
    expect(new Set([empty, inserted, swapped]).size).toBe(3);
    expect(mediumKey({ device: '/dev/sdc', size: 32e9 }, '8')).toBe(inserted);
    const known = new Set([empty, mediumKey(vda, '1')]);
    expect(newMedia(known, [{ key: inserted, drive: card }, { key: mediumKey(vda, '1'), drive: vda }])).toEqual([card]);
  });
});

const result = (over: Partial<StationCardResult> = {}): StationCardResult => ({
  card: 1, device: '/dev/loop61', slot: '/devices/virtual/block/loop61', identity: null, verdict: 'verified',
  health: { verdict: 'keep', reasons: [] },
  summary: {
    startedAt: '2026-01-01T10:00:00.000Z', finishedAt: '2026-01-01T10:00:05.000Z', durationMs: 5000, retries: 1, rewrittenBlocks: 2, badBlocks: 0,
    skippedBlocks: 3, probe: { ok: true, claimedBytes: 64e6, realBytes: null }, bytesWritten: 10e6, averageSpeed: 2e6, writeSpeed: 4e6, unsafeToUse: false, error: null,
  },
  report: null, recorded: { historyId: 7, historyError: null, logged: true, logError: null }, ...over,
});
const cardOf = (state: StationCard['state'], health: 'keep' | 'watch' | 'retire' | null = 'keep') =>
  ({ state, result: health ? result({ health: { verdict: health, reasons: [] } }) : null }) as Pick<StationCard, 'state' | 'result'>;
const session = { sessionId: 's1', station: 'bench-3', startedAt: '2026-01-01T10:00:00.000Z', stoppedAt: null };

describe('the session summary and the exit code', () => {
  it('exit 0 only when every card taken was verified', () => {
    expect(stationExitCode(stationSummary(session, [cardOf('verified'), cardOf('verified')]))).toBe(0);
    expect(stationExitCode(stationSummary(session, []))).toBe(0);
    for (const other of ['failed', 'lost', 'cancelled', 'written-unverified', 'flashing'] as const) {
      expect(stationExitCode(stationSummary(session, [cardOf('verified'), cardOf(other, null)]))).toBe(1);
    }
  });

  it('counts verdicts and health', () => {
    const s = stationSummary(session, [cardOf('verified'), cardOf('failed', 'retire'), cardOf('lost', 'keep'), cardOf('verified', 'watch')]);
    expect(s).toMatchObject({ taken: 4, verified: 2, failed: 1, lost: 1, cancelled: 0, health: { keep: 2, watch: 1, retire: 1 }, allVerified: false });
  });
});

describe('the log line', () => {
  it('carries the card, slot, image, bmap, verdict, counts, probe, speeds, times and health', () => {
    const line = stationLogRecord(
      result({ health: { verdict: 'watch', reasons: [{ code: 'RETRIES', verdict: 'watch', message: 'Needed 1 retry pass' }] } }),
      { sessionId: 's1', station: 'bench-3', image: { path: '/srv/os.img', name: 'os.img', imageSize: 24e6, bmapPath: '/srv/os.img.bmap' } },
      '2026-01-01T10:00:06.000Z',
    );
    expect(line).toMatchObject({
      format: 'sureflash-station-log', version: 1, sessionId: 's1', station: 'bench-3', card: 1, slot: '/devices/virtual/block/loop61',
      device: '/dev/loop61', identity: null, image: { path: '/srv/os.img', name: 'os.img', size: 24e6 }, bmap: '/srv/os.img.bmap',
      status: 'verified', retries: 1, rewrittenBlocks: 2, badBlocks: 0, skippedBlocks: 3, probe: { ok: true }, writeSpeed: 4e6,
      startedAt: '2026-01-01T10:00:00.000Z', finishedAt: '2026-01-01T10:00:05.000Z', durationMs: 5000,
      health: { verdict: 'watch', reasons: [{ code: 'RETRIES', verdict: 'watch', message: 'Needed 1 retry pass' }] }, historyId: 7,
    });
    expect(JSON.parse(JSON.stringify(line))).toEqual(line);
  });
});

describe('sureflash station arguments', () => {
  it('defaults: bmap found next to the image, no retries, readback and probe on, 4 cards, the default size limit', () => {
    const { options, allowLoop, history } = parseStationArgs(['os.img']);
    expect(options).toEqual({
      imagePath: 'os.img', retries: 0, skipIdentical: false, readback: true, probe: true, maxCards: DEFAULT_MAX_CARDS, slots: [],
      maxSizeBytes: null, logFile: null, stationName: null,
    });
    expect(allowLoop).toBe(false);
    expect(history).toBeNull();
  });

  it('every option', () => {
    const { options, allowLoop, history } = parseStationArgs([
      '--bmap', 'os.bmap', '--checksum-retry', '--skip-identical', '--log', 'cards.jsonl', '--allow-loop', '--max-cards', '8',
      '--max-size', '64G', '--slot', '/devices/a/usb1/1-1', '--slot', '/devices/a/usb1/1-2', '--no-probe', '--name', 'jig 2',
      '--history-db', 'h.sqlite', '--sha256', 'AB'.repeat(32), 'os.img',
    ]);
    expect(options).toMatchObject({
      imagePath: 'os.img', bmapPath: 'os.bmap', retries: 1, skipIdentical: true, logFile: 'cards.jsonl', maxCards: 8, maxSizeBytes: 64e9,
      slots: ['/devices/a/usb1/1-1', '/devices/a/usb1/1-2'], probe: false, readback: true, stationName: 'jig 2', auth: { sha256: 'ab'.repeat(32) },
    });
    expect(allowLoop).toBe(true);
    expect(history).toBe('h.sqlite');
    expect(parseStationArgs(['--nobmap', '--no-history', 'os.img'])).toMatchObject({ options: { bmapPath: null }, history: false });
    expect(parseStationArgs(['--checksum-retry', '3', 'os.img']).options.retries).toBe(3);
    expect(parseStationArgs(['--checksum-retry=2', 'os.img']).options.retries).toBe(2);
    expect(parseStationArgs(['--checksum-retry', '7']).options).toMatchObject({ retries: 1, imagePath: '7' });
  });

  it('refuses what makes no sense, as usage errors', () => {
    for (const argv of [
      [], ['a.img', 'b.img'], ['--max-cards', '0', 'a'], ['--max-cards', '17', 'a'], ['--checksum-retry=11', 'a'], ['--slot', 'usb1', 'a'],
      ['--max-size', 'big', 'a'], ['--bmap', 'x', '--nobmap', 'a'], ['--skip-identical', '--no-readback', 'a'], ['--history-db', 'h', '--no-history', 'a'],
      ['--log', '', 'a'], ['--frobnicate', 'a'],
    ]) {
      expect(() => parseStationArgs(argv), argv.join(' ')).toThrow(UsageError);
    }
  });

  it('sizes: SI units, binary units, plain bytes', () => {
    expect(parseSize('64G')).toBe(64e9);
    expect(parseSize('64GB')).toBe(64e9);
    expect(parseSize('1GiB')).toBe(2 ** 30);
    expect(parseSize('512m')).toBe(512e6);
    expect(parseSize('1.5T')).toBe(1.5e12);
    expect(parseSize('4096')).toBe(4096);
    expect(() => parseSize('0')).toThrow(UsageError);
  });
});
