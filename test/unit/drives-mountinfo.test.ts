import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPartitionName, mountsMatching, parseMountinfo } from '../../src/main/system/mountinfo';
import { toDriveInfo, type DrivelistRecord } from '../../src/main/drives/drivelist-map';
import { parseSwaps, swapsMatching } from '../../src/main/system/swaps';

const MOUNTINFO = [
  '22 27 0:21 / /proc rw,relatime - proc proc rw',
  '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
  '90 27 179:1 / /media/alice/boot rw,nosuid shared:1 - vfat /dev/mmcblk0p1 rw',
  '91 27 179:2 / /media/alice/my\\040card rw,nosuid - ext4 /dev/mmcblk0p2 rw',
  '92 27 7:3 / /mnt/loop3 rw - ext4 /dev/loop3 rw',
  '93 27 259:0 / /mnt/loop3p1 rw - ext4 /dev/loop3p1 rw',
  '94 27 7:10 / /mnt/loop10 rw - ext4 /dev/loop10 rw',
  '95 27 8:17 / /media/usb rw - vfat /dev/sdb1 rw',
  'garbage line',
].join('\n');

describe('parseMountinfo', () => {
  const entries = parseMountinfo(MOUNTINFO);

  it('reads device numbers, mountpoints, types and sources, skipping bad lines', () => {
    expect(entries).toHaveLength(8);
    expect(entries[2]).toEqual({ majorMinor: '179:1', mountpoint: '/media/alice/boot', fsType: 'vfat', source: '/dev/mmcblk0p1' });
  });

  it('undoes the octal escapes (a space in a label)', () => {
    expect(entries[3]?.mountpoint).toBe('/media/alice/my card');
  });

  it.skipIf(process.platform !== 'linux')('parses this machine\'s own mountinfo and finds / (Linux only)', () => {
    const own = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
    expect(own.some((e) => e.mountpoint === '/')).toBe(true);
  });
});

describe('partitions of a device', () => {
  it.each([
    ['sdb1', 'sdb', true],
    ['sdb12', 'sdb', true],
    ['sdba', 'sdb', false],
    ['mmcblk0p1', 'mmcblk0', true],
    ['mmcblk01', 'mmcblk0', false],
    ['mmcblk0boot0', 'mmcblk0', false],
    ['loop3p1', 'loop3', true],
    ['loop30', 'loop3', false],
    ['nvme0n1p2', 'nvme0n1', true],
    ['nvme0n12', 'nvme0n1', false],
  ])('%s of %s → %s', (child, parent, expected) => {
    expect(isPartitionName(child, parent)).toBe(expected);
  });

  it('matches mounts of the device and its partitions by source name, never loop10 for loop1', () => {
    const entries = parseMountinfo(MOUNTINFO);
    const of = (names: string[], numbers: string[] = []) =>
      mountsMatching(entries, { names, numbers }).map((e) => e.mountpoint);
    expect(of(['mmcblk0'])).toEqual(['/media/alice/boot', '/media/alice/my card']);
    expect(of(['loop3'])).toEqual(['/mnt/loop3', '/mnt/loop3p1']);
    expect(of(['loop1'])).toEqual([]);
    expect(of(['sdb'])).toEqual(['/media/usb']);
    expect(of(['sdc'])).toEqual([]);
  });

  it('matches by device numbers when the source is named differently (e.g. /dev/mapper or by-uuid)', () => {
    const entries = parseMountinfo('50 27 8:33 / /media/x rw - ext4 /dev/disk/by-uuid/1234 rw');
    expect(mountsMatching(entries, { names: ['sdc'], numbers: ['8:32', '8:33'] })).toHaveLength(1);
    expect(mountsMatching(entries, { names: ['sdc'], numbers: ['8:32'] })).toHaveLength(0);
  });
});

describe('swap areas', () => {
  const SWAPS = [
    'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority',
    '/dev/sdb2                               partition\t1048572\t\t0\t\t-2',
    '/swap\\040file                            file\t\t524284\t\t0\t\t-3',
    '/dev/loop10                             partition\t8188\t\t0\t\t-4',
    '',
  ].join('\n');

  it('reads the active swap areas, undoing escapes', () => {
    expect(parseSwaps(SWAPS)).toEqual(['/dev/sdb2', '/swap file', '/dev/loop10']);
    expect(parseSwaps('Filename\tType\tSize\tUsed\tPriority\n')).toEqual([]);
  });

  it('matches swap on the device or its partitions only', () => {
    const swaps = parseSwaps(SWAPS);
    expect(swapsMatching(swaps, { names: ['sdb'], numbers: [] })).toEqual(['/dev/sdb2']);
    expect(swapsMatching(swaps, { names: ['sdc'], numbers: [] })).toEqual([]);
    expect(swapsMatching(swaps, { names: ['loop1'], numbers: [] })).toEqual([]);
    expect(swapsMatching(swaps, { names: ['loop10'], numbers: [] })).toEqual(['/dev/loop10']);
  });
});

describe('drivelist records → DriveInfo', () => {
  const records = JSON.parse(
    readFileSync(join(__dirname, '..', 'fixtures', 'drivelist', 'linux-vm.json'), 'utf8'),
  ) as DrivelistRecord[];

  it('keeps the facts and turns drivelist nulls into booleans', () => {
    const zram = toDriveInfo(records.find((r) => r.device === '/dev/zram0')!);
    expect(zram).toEqual({
      device: '/dev/zram0',
      raw: '/dev/zram0',
      description: 'Unknown drive',
      size: null,
      isSystem: false,
      isRemovable: true,
      isReadOnly: false,
      isVirtual: true,
      isCard: false,
      isUSB: false,
      isLoop: false,
      busType: 'UNKNOWN',
      mountpoints: [],
    });
    const vda = toDriveInfo(records.find((r) => r.device === '/dev/vda')!);
    expect(vda).toMatchObject({ size: 274_877_906_944, isSystem: true, mountpoints: ['/'] });
  });
});
