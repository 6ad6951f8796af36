/**
 * What Linux sysfs says about one block device, found by its device number: size, sector size, write cache,
 * whether it is a partition, and who it is (disk sequence number, model, serial, a loop device's backing
 * file). The engine's target checks read it before opening a device, main reads it to pin the drive the user
 * confirmed, and the privileged helper reads it again, as root, before it serves that drive.
 */
import { readFile, realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Linux: major and minor of a device number. */
export function splitRdev(rdev: number): { major: number; minor: number } {
  return { major: Math.floor(rdev / 256) & 0xfff, minor: (rdev & 0xff) | ((Math.floor(rdev / 4096) & 0xfff00) >>> 0) };
}

export interface BlockDeviceFacts {
  /** The device's sysfs directory (symlinks resolved). */
  sysPath: string;
  /** Kernel name, e.g. sdb, mmcblk0p1, loop3. */
  name: string;
  /** True for a partition (sdb1, mmcblk0p1): never a whole drive. */
  partition: boolean;
  size: number;
  sectorSize: number;
  readOnly: boolean;
  /** queue/write_cache ("write back", "write through"), null when there is none. */
  writeCache: string | null;
  /**
   * The kernel's disk sequence number: it changes whenever another medium (another card, another loop
   * backing file) appears under the same device number. Null on kernels before 5.15.
   */
  diskseq: string | null;
  model: string | null;
  serial: string | null;
  /** A loop device's backing file. */
  backingFile: string | null;
}

async function readSys(path: string): Promise<string | null> {
  try {
    const value = (await readFile(path, 'latin1')).replace(/\0+$/, '').trim();
    return value === '' ? null : value;
  } catch {
    return null;
  }
}

/** Serial from SCSI VPD page 0x80 (4-byte header, then ASCII). */
async function vpdSerial(path: string): Promise<string | null> {
  try {
    const page = await readFile(path);
    if (page.length < 4 || page[1] !== 0x80) return null;
    const serial = page.subarray(4, 4 + page.readUInt16BE(2)).toString('latin1').replace(/\0/g, '').trim();
    return serial === '' ? null : serial;
  } catch {
    return null;
  }
}

/** The serial of the nearest USB device above `dir` (a USB reader's serial), if any. */
async function usbSerial(dir: string, sysRoot: string): Promise<string | null> {
  for (let current = dir; current.startsWith(sysRoot) && current !== sysRoot; current = dirname(current)) {
    if ((await readSys(join(current, 'idVendor'))) !== null) return readSys(join(current, 'serial'));
  }
  return null;
}

/** Model and serial as far as sysfs tells them: SCSI/USB/SATA, NVMe, SD/MMC (CID serial), virtio. */
async function whoItIs(diskDir: string, sysRoot: string): Promise<{ model: string | null; serial: string | null }> {
  const device = await realpath(join(diskDir, 'device')).catch(() => null);
  if (!device) return { model: null, serial: await readSys(join(diskDir, 'serial')) };
  const model = (await readSys(join(device, 'model'))) ?? (await readSys(join(device, 'name')));
  const serial =
    (await readSys(join(device, 'serial'))) ??
    (await readSys(join(diskDir, 'serial'))) ??
    (await vpdSerial(join(device, 'vpd_pg80'))) ??
    (await usbSerial(device, sysRoot));
  return { model, serial };
}

/** Facts about the block device with number `rdev`; null when sysfs does not know it. */
export async function blockDeviceFacts(rdev: number, sysRoot = '/sys'): Promise<BlockDeviceFacts | null> {
  const { major, minor } = splitRdev(rdev);
  const base = join(sysRoot, 'dev', 'block', `${major}:${minor}`);
  const sectors = await readSys(join(base, 'size'));
  if (sectors === null) return null;
  const sysPath = await realpath(base);
  const partition = (await readSys(join(base, 'partition'))) !== null;
  // Partitions keep their queue, sequence number and identity in the parent disk's directory.
  const disk = partition ? dirname(sysPath) : sysPath;
  return {
    sysPath,
    name: basename(sysPath),
    partition,
    size: Number(sectors) * 512,
    sectorSize: Number((await readSys(join(disk, 'queue', 'logical_block_size'))) ?? 512) || 512,
    readOnly: (await readSys(join(base, 'ro'))) === '1',
    writeCache: await readSys(join(disk, 'queue', 'write_cache')),
    diskseq: await readSys(join(disk, 'diskseq')),
    ...(await whoItIs(disk, sysRoot)),
    backingFile: await readSys(join(disk, 'loop', 'backing_file')),
  };
}
