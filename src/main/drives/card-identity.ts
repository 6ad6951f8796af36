/**
 * A card's identity from Linux sysfs (vendor, model, serial and what it names, the SD/MMC CID in a native
 * slot, size, bus, physical slot) plus an optional content fingerprint read through an injected reader.
 * The sysfs root is a parameter so tests can point it at a tree of their own. Linux only.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import {
  cardIdOf,
  decodeCid,
  serialScopeOf,
  type CardBus,
  type CardCid,
  type CardIdentity,
  type UsbDeviceInfo,
} from '../../shared/card-identity';
import { PROBE_MARKER_BYTES, PROBE_MARKER_MAGIC } from '../../shared/probe-marker';
import { isKnownCardReader } from './card-reader-ids';
import { DriveError } from './drive-error';

/** Reads `length` bytes at `offset` from the card (the engine reads with O_DIRECT). */
export type CardReader = (offset: number, length: number) => Promise<Buffer>;

export interface IdentifyOptions {
  /** Where sysfs is mounted (default /sys). */
  sysRoot?: string;
  /** Reads the card for the fingerprint; without it `fingerprint` is null. */
  read?: CardReader;
}

const MIB = 1024 * 1024;

async function text(path: string): Promise<string | null> {
  try {
    const value = (await readFile(path, 'latin1')).replace(/\0+$/, '').trim();
    return value === '' ? null : value;
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Linux dev_t → "major:minor" (glibc's encoding, valid for 64-bit numbers). */
function devNumberOf(rdev: number): string {
  const dev = BigInt(rdev);
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** The sysfs directory of the whole disk `target` names (a /dev path, "major:minor", or {major, minor}). */
async function diskDirectory(target: string | { major: number; minor: number }, sysRoot: string): Promise<string> {
  const candidates: string[] = [];
  let label: string;
  if (typeof target !== 'string') {
    label = `${target.major}:${target.minor}`;
    candidates.push(join(sysRoot, 'dev', 'block', label));
  } else if (/^\d+:\d+$/.test(target)) {
    label = target;
    candidates.push(join(sysRoot, 'dev', 'block', target));
  } else {
    label = target;
    let resolved = target;
    try {
      resolved = await realpath(target);
      const info = await stat(resolved);
      if (!info.isBlockDevice()) throw new DriveError('TARGET_INVALID', `${target} is not a block device: choose a drive such as /dev/sdb`);
      candidates.push(join(sysRoot, 'dev', 'block', devNumberOf(info.rdev)));
    } catch (err) {
      if (err instanceof DriveError) throw err;
      // No such node here (a sysfs tree of another machine, or a vanished device): look it up by name.
    }
    candidates.push(join(sysRoot, 'class', 'block', basename(resolved)), join(sysRoot, 'block', basename(resolved)));
  }
  for (const candidate of candidates) {
    let dir: string;
    try {
      dir = await realpath(candidate);
    } catch {
      continue;
    }
    // A partition (sdb1, mmcblk0p1): the card is its parent disk.
    return (await exists(join(dir, 'partition'))) ? dirname(dir) : dir;
  }
  throw new DriveError('TARGET_NOT_FOUND', `no block device ${label} in ${sysRoot}: check that the card is inserted`);
}

function busOf(devpath: string, name: string, isLoop: boolean): CardBus {
  const parts = devpath.split('/');
  const has = (pattern: RegExp): boolean => parts.some((p) => pattern.test(p));
  if (isLoop) return 'loop';
  if (devpath.startsWith('/devices/virtual/')) return 'virtual';
  if (has(/^usb\d+$/)) return 'usb';
  if (parts.includes('mmc_host')) return 'mmc';
  if (has(/^nvme\d+$/) || /^nvme\d+n\d+$/.test(name)) return 'nvme';
  if (has(/^ata\d+$/)) return 'sata';
  if (has(/^virtio\d+$/)) return 'virtio';
  if (has(/^host\d+$/)) return 'scsi';
  return 'unknown';
}

/** The devpath up to and including the first segment matching `pattern` (or before it, with `before`). */
function devpathUpTo(devpath: string, pattern: RegExp, before = false): string | null {
  const parts = devpath.split('/');
  const index = parts.findIndex((p) => pattern.test(p));
  if (index < 0) return null;
  return parts.slice(0, before ? index : index + 1).join('/');
}

/** Serial from SCSI VPD page 0x80 (unit serial number): 4-byte header, then ASCII. */
async function vpdSerial(path: string): Promise<string | null> {
  try {
    const page = await readFile(path);
    if (page.length < 4 || page[1] !== 0x80) return null;
    const length = page.readUInt16BE(2);
    const serial = page.subarray(4, 4 + length).toString('latin1').replace(/\0/g, '').trim();
    return serial === '' ? null : serial;
  } catch {
    return null;
  }
}

interface UsbFacts {
  info: UsbDeviceInfo;
  devicePath: string;
}

/** The nearest ancestor of `dir` that is a USB device (it has idVendor), and the interface below it. */
async function usbAncestor(dir: string, sysRoot: string): Promise<UsbFacts | null> {
  let child: string | null = null;
  for (let current = dir; current.startsWith(sysRoot) && current !== sysRoot; current = dirname(current)) {
    const vendorId = await text(join(current, 'idVendor'));
    if (vendorId !== null) {
      const iface = child;
      const klass = iface ? await text(join(iface, 'bInterfaceClass')) : null;
      const interfaceClass = iface && klass
        ? [klass, await text(join(iface, 'bInterfaceSubClass')), await text(join(iface, 'bInterfaceProtocol'))].map((v) => v ?? '??').join('/')
        : null;
      return {
        devicePath: current,
        info: {
          vendorId,
          productId: (await text(join(current, 'idProduct'))) ?? '0000',
          manufacturer: await text(join(current, 'manufacturer')),
          product: await text(join(current, 'product')),
          serial: await text(join(current, 'serial')),
          interfaceClass,
        },
      };
    }
    child = current;
  }
  return null;
}

/** Logical units next to a SCSI device (its siblings H:C:T:L under the same target). */
async function lunsBeside(scsiDevice: string): Promise<number> {
  try {
    return (await readdir(dirname(scsiDevice))).filter((n) => /^\d+:\d+:\d+:\d+$/.test(n)).length;
  } catch {
    return 1;
  }
}

/**
 * The content fingerprint: SHA-256 of the first MiB then the last MiB (the whole card under 2 MiB). Blocks
 * that hold a capacity-probe marker (4 KiB on the 4 KiB grid, starting with its header) count as zeros: the
 * markers carry a new nonce every flash and would otherwise give the same card a new fingerprint each time.
 */
export async function fingerprintCard(read: CardReader, sizeBytes: number): Promise<string> {
  const spans = sizeBytes <= 2 * MIB ? [[0, sizeBytes]] : [[0, MIB], [sizeBytes - MIB, MIB]];
  const hash = createHash('sha256');
  const magic = Buffer.from(PROBE_MARKER_MAGIC, 'latin1');
  for (const [offset = 0, length = 0] of spans) {
    const data = await read(offset, length);
    if (data.length !== length) {
      throw new DriveError('DEVICE_LOST', `read ${data.length} of ${length} bytes at ${offset} for the card's fingerprint: check the card`);
    }
    const first = Math.ceil(offset / PROBE_MARKER_BYTES) * PROBE_MARKER_BYTES;
    for (let at = first; at + PROBE_MARKER_BYTES <= offset + length; at += PROBE_MARKER_BYTES) {
      const block = data.subarray(at - offset, at - offset + PROBE_MARKER_BYTES);
      if (block.subarray(0, magic.length).equals(magic)) block.fill(0);
    }
    hash.update(data);
  }
  return hash.digest('hex');
}

/**
 * Identifies the card in a Linux block device. `target`: a /dev path (symlinks and partitions resolve to the
 * whole disk), "major:minor", or {major, minor}. Throws DriveError TARGET_NOT_FOUND when sysfs has no such
 * device, TARGET_INVALID when the path is not a block device.
 */
export async function identifyCard(
  target: string | { major: number; minor: number },
  options: IdentifyOptions = {},
): Promise<CardIdentity> {
  const sysRoot = options.sysRoot ?? '/sys';
  const dir = await diskDirectory(target, sysRoot);
  const name = basename(dir);
  const devpath = `/${relative(sysRoot, dir).split(sep).join('/')}`;
  const isLoop = /^loop\d+$/.test(name) || (await exists(join(dir, 'loop')));
  const bus = busOf(devpath, name, isLoop);
  const deviceDir = await realpath(join(dir, 'device')).catch(() => null);
  const sectors = Number(await text(join(dir, 'size')));
  const sizeBytes = Number.isFinite(sectors) && sectors > 0 ? sectors * 512 : null;
  const removable = (await text(join(dir, 'removable'))) === '1';

  let vendor: string | null = null;
  let model: string | null = null;
  let serial: string | null = null;
  let cid: CardCid | null = null;
  let usb: UsbFacts | null = null;
  let lun: number | null = null;
  let lunCount = 1;
  let slot: string | null;

  if (deviceDir && (bus === 'usb' || bus === 'sata' || bus === 'scsi' || (bus === 'virtio' && /^\d+:\d+:\d+:\d+$/.test(basename(deviceDir))))) {
    vendor = await text(join(deviceDir, 'vendor'));
    model = await text(join(deviceDir, 'model'));
    const hctl = /^\d+:\d+:\d+:(\d+)$/.exec(basename(deviceDir));
    if (hctl) {
      lun = Number(hctl[1]);
      lunCount = await lunsBeside(deviceDir);
    }
    if (bus === 'usb') {
      usb = await usbAncestor(deviceDir, sysRoot);
      serial = usb?.info.serial ?? null;
    } else {
      serial = await vpdSerial(join(deviceDir, 'vpd_pg80'));
    }
  } else if (deviceDir && bus === 'mmc') {
    const type = await text(join(deviceDir, 'type'));
    const rawCid = await text(join(deviceDir, 'cid'));
    cid = rawCid ? decodeCid(rawCid, type === 'MMC' ? 'MMC' : 'SD') : null;
    if (cid && cid.layout === 'MMC') cid.manufactured = mmcDate(await text(join(deviceDir, 'date')));
    model = cid?.productName ?? (await text(join(deviceDir, 'name')));
    serial = cid ? cid.serial : ((await text(join(deviceDir, 'serial')))?.replace(/^0x/, '') ?? null);
  } else if (deviceDir && bus === 'nvme') {
    model = await text(join(deviceDir, 'model'));
    serial = await text(join(deviceDir, 'serial'));
  } else if (deviceDir && bus === 'virtio') {
    vendor = await text(join(deviceDir, 'vendor'));
    serial = await text(join(dir, 'serial'));
  }

  switch (bus) {
    case 'usb':
      slot = usb ? `/${relative(sysRoot, usb.devicePath).split(sep).join('/')}` : null;
      break;
    case 'mmc':
      slot = devpathUpTo(devpath, /^mmc_host$/, true);
      break;
    case 'sata':
      slot = devpathUpTo(devpath, /^ata\d+$/);
      break;
    case 'nvme':
      slot = devpathUpTo(devpath, /^nvme$/, true) ?? devpathUpTo(devpath, /^nvme\d+$/);
      break;
    case 'virtio':
      slot = devpathUpTo(devpath, /^virtio\d+$/);
      break;
    case 'scsi':
      slot = devpathUpTo(devpath, /^host\d+$/, true);
      break;
    case 'loop':
      slot = devpath;
      break;
    default:
      slot = null;
  }

  const scope = serialScopeOf({
    bus,
    removable,
    lunCount,
    knownReaderId: usb !== null && isKnownCardReader(usb.info.vendorId, usb.info.productId),
    names: [vendor, model, usb?.info.manufacturer ?? null, usb?.info.product ?? null],
  });
  const fingerprint = options.read && sizeBytes !== null ? await fingerprintCard(options.read, sizeBytes) : null;
  const identity: Omit<CardIdentity, 'cardId' | 'idSource'> = {
    device: `/dev/${name}`,
    name,
    devNumber: (await text(join(dir, 'dev'))) ?? '',
    bus,
    vendor,
    model,
    serial,
    serialScope: serial === null ? 'unknown' : scope.scope,
    serialScopeReason: serial === null ? 'no serial' : scope.reason,
    cid,
    sizeBytes,
    removable,
    readOnly: (await text(join(dir, 'ro'))) === '1',
    location: { sysfsPath: devpath, slot, lun },
    usb: usb?.info ?? null,
    backingFile: isLoop ? await text(join(dir, 'loop', 'backing_file')) : null,
    fingerprint,
  };
  return { ...identity, ...cardIdOf(identity) };
}

/** The kernel's "MM/YYYY" date attribute of an MMC card as "YYYY-MM". */
function mmcDate(value: string | null): string | null {
  const match = value ? /^(\d{2})\/(\d{4})$/.exec(value) : null;
  return match ? `${match[2]}-${match[1]}` : null;
}
