import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DriveInfo } from '../../src/shared/api';
import {
  ACKNOWLEDGE_CODES,
  checkFlashAllowed,
  evaluateDrive,
  evaluateDrives,
  isPathInside,
  type DriveContext,
  type DriveVerdict,
} from '../../src/shared/drive-rules';
import { toDriveInfo, type DrivelistRecord } from '../../src/main/drives/drivelist-map';

/** Recorded drivelist output, mapped the way main maps it. */
function fixture(name: string): DriveInfo[] {
  const path = join(__dirname, '..', 'fixtures', 'drivelist', `${name}.json`);
  return (JSON.parse(readFileSync(path, 'utf8')) as DrivelistRecord[]).map(toDriveInfo);
}

function find(drives: DriveInfo[], device: string): DriveInfo {
  const drive = drives.find((d) => d.device === device);
  if (!drive) throw new Error(`fixture has no ${device}`);
  return drive;
}

const codes = (verdict: DriveVerdict): string[] => verdict.reasons.map((r) => r.code);
const noImage: DriveContext = { imageSize: null, imagePath: null, showHidden: false };
const GB = 1e9;

describe('drive rules on this machine (linux-vm.json, captured from drivelist)', () => {
  const drives = fixture('linux-vm');

  it('hides the 256 GiB system disk /dev/vda unless asked, then warns', () => {
    const vda = find(drives, '/dev/vda');
    expect(evaluateDrive(vda, noImage).status).toBe('hidden');
    const shown = evaluateDrive(vda, { ...noImage, showHidden: true });
    expect(shown.status).toBe('warning');
    expect(codes(shown)).toEqual(['SYSTEM_DRIVE', 'LARGE']);
    expect(shown.badges).toEqual(expect.arrayContaining(['System', 'Large']));
  });

  it('disables zram0: virtual and without a size', () => {
    const zram = find(drives, '/dev/zram0');
    const verdict = evaluateDrive(zram, noImage);
    expect(verdict.status).toBe('disabled');
    expect(codes(verdict)).toEqual(['VIRTUAL', 'UNKNOWN_SIZE']);
    expect(verdict.reasons.every((r) => r.severity === 'error')).toBe(true);
    expect(verdict.badges).toContain('Removable');
  });

  it('marks the system disk as the source drive when the image is on /', () => {
    const vda = find(drives, '/dev/vda');
    const verdict = evaluateDrive(vda, { imageSize: 2 * GB, imagePath: '/root/images/os.img', showHidden: true });
    expect(verdict.status).toBe('disabled');
    expect(codes(verdict)).toContain('SOURCE_DRIVE');
    expect(verdict.reasons.find((r) => r.code === 'SOURCE_DRIVE')?.message).toContain('mounted at /');
  });
});

describe('drive rules on a recorded macOS laptop', () => {
  const drives = fixture('macos-laptop');

  it('accepts the SD card in the built-in reader, with badges', () => {
    const verdict = evaluateDrive(find(drives, '/dev/disk4'), { imageSize: 4 * GB, imagePath: '/Users/me/os.img', showHidden: false });
    expect(verdict).toEqual({ status: 'ok', badges: ['SD card', 'Removable'], reasons: [] });
  });

  it('hides the internal disk and the APFS container', () => {
    for (const device of ['/dev/disk0', '/dev/disk3']) {
      expect(evaluateDrive(find(drives, device), noImage).status).toBe('hidden');
    }
  });

  it('disables a mounted disk image (virtual, read-only)', () => {
    const verdict = evaluateDrive(find(drives, '/dev/disk5'), noImage);
    expect(verdict.status).toBe('disabled');
    expect(codes(verdict)).toEqual(['VIRTUAL', 'READ_ONLY']);
  });

  it('names only the card as source when the image is on it, not the disk mounted at /', () => {
    const ctx = { imageSize: GB, imagePath: '/Volumes/boot/os.img', showHidden: true };
    const byDevice = new Map(evaluateDrives(drives, ctx).map(({ drive, verdict }) => [drive.device, verdict]));
    expect(codes(byDevice.get('/dev/disk4')!)).toEqual(['SOURCE_DRIVE']);
    expect(codes(byDevice.get('/dev/disk3')!)).not.toContain('SOURCE_DRIVE');
    // Without the whole list the rule errs on the safe side: "/" holds every path.
    expect(codes(evaluateDrive(find(drives, '/dev/disk3'), ctx))).toContain('SOURCE_DRIVE');
  });
});

describe('drive rules on a recorded Windows desktop', () => {
  const drives = fixture('windows-desktop');
  const stick = find(drives, '\\\\.\\PhysicalDrive1');

  it('accepts the USB stick E:\\ for an image on C:\\', () => {
    const verdict = evaluateDrive(stick, { imageSize: 8 * GB, imagePath: 'C:\\Users\\me\\Downloads\\os.img', showHidden: false });
    expect(verdict.status).toBe('ok');
    expect(verdict.badges).toEqual(['USB', 'Removable']);
  });

  it('disables the stick when the image is on E:, whatever the letter case', () => {
    const verdict = evaluateDrive(stick, { imageSize: 8 * GB, imagePath: 'e:\\images\\os.img', showHidden: false });
    expect(verdict.status).toBe('disabled');
    expect(codes(verdict)).toEqual(['SOURCE_DRIVE']);
  });

  it('hides PhysicalDrive0 (C:\\) and, when shown, asks for confirmation', () => {
    const system = find(drives, '\\\\.\\PhysicalDrive0');
    expect(evaluateDrive(system, noImage).status).toBe('hidden');
    const shown = evaluateDrive(system, { imageSize: 8 * GB, imagePath: 'D:\\os.img', showHidden: true });
    expect(shown.status).toBe('warning');
    expect(codes(shown)).toEqual(['SYSTEM_DRIVE', 'LARGE']);
  });
});

describe('drive rules on a recorded Linux laptop', () => {
  const drives = fixture('linux-laptop');
  const image = { imageSize: 7_818_182_656, imagePath: '/home/alice/Downloads/os.img', showHidden: false };

  it('infers the card from mmcblk0 and accepts it', () => {
    const verdict = evaluateDrive(find(drives, '/dev/mmcblk0'), image);
    expect(verdict.status).toBe('ok');
    expect(verdict.badges).toEqual(['SD card', 'Removable']);
  });

  it('warns about the 256 GB USB disk (LARGE), which needs confirmation', () => {
    const verdict = evaluateDrive(find(drives, '/dev/sdb'), image);
    expect(verdict.status).toBe('warning');
    expect(codes(verdict)).toEqual(['LARGE']);
    expect(verdict.reasons[0]?.message).toContain('256.1 GB');
    expect(verdict.badges).toEqual(['USB', 'Removable', 'Large']);
  });

  it('disables the 3.9 GB stick for a 7.8 GB image with a readable message', () => {
    const verdict = evaluateDrive(find(drives, '/dev/sdc'), image);
    expect(verdict.status).toBe('disabled');
    expect(verdict.reasons).toEqual([
      { code: 'TOO_SMALL', severity: 'error', message: 'Too small: 3.9 GB drive, 7.8 GB image.' },
    ]);
  });

  it('disables the read-only card and points at the lock switch', () => {
    const verdict = evaluateDrive(find(drives, '/dev/mmcblk1'), image);
    expect(verdict.status).toBe('disabled');
    expect(codes(verdict)).toEqual(['READ_ONLY']);
    expect(verdict.reasons[0]?.message).toMatch(/lock switch/);
    expect(verdict.badges).toContain('Read-only');
  });

  it('hides the NVMe system disk', () => {
    expect(evaluateDrive(find(drives, '/dev/nvme0n1'), image).status).toBe('hidden');
  });

  it('tells /media/alice/boot2 from /media/alice/boot when finding the source drive', () => {
    const ctx = { imageSize: GB, imagePath: '/media/alice/boot2/os.img', showHidden: false };
    const verdicts = new Map(evaluateDrives(drives, ctx).map(({ drive, verdict }) => [drive.device, verdict]));
    expect(codes(verdicts.get('/dev/sdc')!)).toEqual(['SOURCE_DRIVE']);
    expect(codes(verdicts.get('/dev/mmcblk0')!)).toEqual([]);
  });
});

describe('isPathInside', () => {
  it.each([
    ['/media/a/x.img', '/media/a', true],
    ['/media/ab/x.img', '/media/a', false],
    ['/media/a', '/media/a/', true],
    ['/media/a/../b/x.img', '/media/a', false],
    ['/anything', '/', true],
    ['E:\\x.img', 'e:\\', true],
    ['C:\\x.img', 'E:\\', false],
    ['relative.img', '/', false],
    ['/media/a/odd\\name.img', '/media/a', true],
    ['/media/a\\b.img', '/media/a', false],
    ['/Media/A/x.img', '/media/a', false],
    ['\\\\server\\share\\x.img', 'E:\\', false],
  ])('%s inside %s → %s', (path, dir, expected) => {
    expect(isPathInside(path, dir)).toBe(expected);
  });
});

describe('checkFlashAllowed', () => {
  const laptop = fixture('linux-laptop');
  const ctx: DriveContext = { imageSize: 7_818_182_656, imagePath: '/home/alice/os.img', showHidden: false };

  it('lists LARGE and SYSTEM_DRIVE as the codes needing confirmation', () => {
    expect([...ACKNOWLEDGE_CODES].sort()).toEqual(['LARGE', 'SYSTEM_DRIVE']);
  });

  it('allows a plain card', () => {
    expect(checkFlashAllowed(find(laptop, '/dev/mmcblk0'), ctx, [])).toEqual({ ok: true });
  });

  it('refuses a large drive until LARGE is acknowledged', () => {
    const sdb = find(laptop, '/dev/sdb');
    const refused = checkFlashAllowed(sdb, ctx, []);
    expect(refused).toMatchObject({ ok: false, code: 'TARGET_NOT_ALLOWED' });
    expect(refused.ok ? '' : refused.message).toContain('LARGE');
    expect(checkFlashAllowed(sdb, ctx, ['LARGE'])).toEqual({ ok: true });
  });

  it('refuses a system drive, even hidden, until both its warnings are acknowledged', () => {
    const nvme = find(laptop, '/dev/nvme0n1');
    const onRoot = { ...ctx, imagePath: '/srv/elsewhere.img' };
    const refused = checkFlashAllowed(nvme, { ...ctx, imagePath: null }, ['LARGE']);
    expect(refused.ok ? '' : refused.message).toMatch(/SYSTEM_DRIVE/);
    expect(refused.ok ? '' : refused.message).not.toMatch(/LARGE/);
    expect(checkFlashAllowed(nvme, onRoot, ['LARGE', 'SYSTEM_DRIVE']).ok).toBe(false); // "/" holds the image
    expect(checkFlashAllowed(nvme, { ...ctx, imagePath: null }, ['LARGE', 'SYSTEM_DRIVE'])).toEqual({ ok: true });
  });

  it('refuses disabled drives with the matching error code, acknowledged or not', () => {
    const all = ['LARGE', 'SYSTEM_DRIVE'];
    expect(checkFlashAllowed(find(laptop, '/dev/sdc'), ctx, all)).toMatchObject({ ok: false, code: 'TARGET_TOO_SMALL' });
    expect(checkFlashAllowed(find(laptop, '/dev/mmcblk1'), ctx, all)).toMatchObject({ ok: false, code: 'TARGET_READ_ONLY' });
    const source = checkFlashAllowed(find(laptop, '/dev/mmcblk0'), { ...ctx, imagePath: '/media/alice/rootfs/os.img' }, all);
    expect(source).toMatchObject({ ok: false, code: 'TARGET_NOT_ALLOWED' });
    expect(source.ok ? '' : source.message).toContain('/dev/mmcblk0');
    const zram = find(fixture('linux-vm'), '/dev/zram0');
    expect(checkFlashAllowed(zram, ctx, all)).toMatchObject({ ok: false, code: 'TARGET_NOT_ALLOWED' });
  });
});
