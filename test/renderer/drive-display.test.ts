import { describe, expect, it } from 'vitest';
import { driveBadges, driveBus, driveName } from '../../src/renderer/model/drive-display';
import { autoSelectDevice } from '../../src/renderer/store/auto-select';
import { drive, image } from './fake-api';

const labels = (d: Parameters<typeof driveBadges>[0]): string[] => driveBadges(d).map((b) => b.label);

describe('drive names', () => {
  it('gives the system disk a real name instead of the vendor id drivelist reports (0x1af4)', () => {
    const vda = drive({ device: '/dev/vda', description: '0x1af4', isSystem: true, isRemovable: false, isCard: false, busType: 'UNKNOWN' });
    expect(driveName(vda)).toBe('System disk (virtio)');
    expect(driveName(drive({ device: '/dev/nvme0n1', description: '', isSystem: true, isCard: false, isRemovable: false }))).toBe('System disk (NVMe)');
  });

  it('uses vendor and model from the card identity when the description says nothing', () => {
    const sdb = drive({ device: '/dev/sdb', description: '', identity: { cardId: null, idSource: null, vendor: 'SanDisk', model: 'Ultra', serial: null, serialScope: 'unknown', cid: null, bus: 'usb', slot: null, size: 32e9 } });
    expect(driveName(sdb)).toBe('SanDisk Ultra');
  });

  it('keeps a meaningful description', () => {
    expect(driveName(drive({ device: '/dev/sdb', description: 'Kingston Canvas' }))).toBe('Kingston Canvas');
  });

  it('names the bus and the USB port', () => {
    expect(driveBus(drive({ device: '/dev/sdb', busType: 'USB', location: '/sys/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2.3' }))).toBe('USB, port 1-2.3');
    expect(driveBus(drive({ device: '/dev/mmcblk0', busType: 'SD', isUSB: false }))).toBe('SD card slot');
  });
});

describe('drive badges', () => {
  it('never calls a loop or zram device "Removable"', () => {
    const loop = drive({ device: '/dev/loop3', description: 'Loop device (card.img)', isLoop: true, isVirtual: true, isRemovable: true, isCard: false, busType: 'LOOP' });
    const zram = drive({ device: '/dev/zram0', description: '', isVirtual: true, isRemovable: true, isCard: false, size: null });
    expect(labels(loop)).toEqual(['Loop']);
    expect(labels(zram)).toEqual(['Virtual']);
    expect(driveName(zram)).toBe('Compressed RAM disk (zram)');
  });

  it('flags system, large, read-only and in-use drives first', () => {
    const d = drive({ device: '/dev/sda', isSystem: true, size: 2e12, isReadOnly: true, mountpoints: ['/', '/home'], isCard: false, isUSB: true });
    expect(labels(d)).toEqual(['System', 'Large', 'Read-only', 'In use', 'USB']);
    expect(driveBadges(d).find((b) => b.label === 'In use')?.detail).toBe('Mounted at / and 1 more: Sureflash unmounts it before writing.');
  });
});

describe('automatic choice of the target', () => {
  const img = image({ imageSize: 2e9 });
  it('picks the only card that can take the image', () => {
    expect(autoSelectDevice([drive({ device: '/dev/sdb' }), drive({ device: '/dev/sdc', size: 1e9 })], img, new Set())).toBe('/dev/sdb');
  });
  it('never picks a system drive, a large drive or a read-only one, and picks nothing when two would do', () => {
    expect(autoSelectDevice([drive({ device: '/dev/sda', isSystem: true })], img, new Set())).toBeNull();
    expect(autoSelectDevice([drive({ device: '/dev/sdg', size: 2e12 })], img, new Set())).toBeNull();
    expect(autoSelectDevice([drive({ device: '/dev/sdf', isReadOnly: true })], img, new Set())).toBeNull();
    expect(autoSelectDevice([drive({ device: '/dev/sdb' }), drive({ device: '/dev/sdc' })], img, new Set())).toBeNull();
  });
  it('does not pick a drive the user turned down or just flashed', () => {
    expect(autoSelectDevice([drive({ device: '/dev/sdb' })], img, new Set(['/dev/sdb']))).toBeNull();
  });
});
