/**
 * Which filesystems of a block device (the device itself or any of its partitions) are mounted, from
 * /proc/self/mountinfo (Linux). Matching uses both the device numbers from sysfs and the mount source, so
 * /dev/sdb covers /dev/sdb1, /dev/mmcblk0 covers /dev/mmcblk0p1 and /dev/loop3 covers /dev/loop3p1 — but
 * /dev/loop1 never covers /dev/loop10.
 */
import { readFile, readdir, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';

export interface MountEntry {
  /** "major:minor" of the mounted filesystem's device. */
  majorMinor: string;
  mountpoint: string;
  fsType: string;
  /** Mount source as the kernel shows it, e.g. "/dev/sdb1". */
  source: string;
}

/** Undoes the octal escapes mountinfo uses for spaces, tabs, newlines and backslashes. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Parses the text of /proc/<pid>/mountinfo; malformed lines are skipped. */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    const majorMinor = fields[2];
    const mountpoint = fields[4];
    const fsType = fields[separator + 1];
    const source = fields[separator + 2];
    if (separator < 0 || !majorMinor || !mountpoint || !fsType || source === undefined) continue;
    entries.push({
      majorMinor,
      mountpoint: unescapeMountField(mountpoint),
      fsType,
      source: unescapeMountField(source),
    });
  }
  return entries;
}

/**
 * True when kernel block name `child` names a partition of `parent`: sdb → sdb1; mmcblk0, nvme0n1 and
 * loop3 (names ending in a digit) → …p1.
 */
export function isPartitionName(child: string, parent: string): boolean {
  if (!child.startsWith(parent)) return false;
  const rest = child.slice(parent.length);
  return /\d$/.test(parent) ? /^p\d+$/.test(rest) : /^\d+$/.test(rest);
}

export interface BlockIdentity {
  /** Kernel names: the device and its partitions, e.g. ["loop3", "loop3p1"]. */
  names: string[];
  /** "major:minor" of each, when sysfs knows them. */
  numbers: string[];
}

async function readTrimmed(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return null;
  }
}

/** Resolves a device path (symlinks included) to its kernel name, partitions and device numbers. */
export async function blockIdentity(devicePath: string, sysRoot = '/sys'): Promise<BlockIdentity> {
  let resolved = devicePath;
  try {
    resolved = await realpath(devicePath);
  } catch {
    // A vanished device still gets matched by name below.
  }
  const name = basename(resolved);
  const names = [name];
  try {
    for (const entry of await readdir(join(sysRoot, 'class', 'block', name))) {
      if (isPartitionName(entry, name)) names.push(entry);
    }
  } catch {
    // Not a block device known to sysfs: match by name only.
  }
  const numbers: string[] = [];
  for (const n of names) {
    const dev = await readTrimmed(join(sysRoot, 'class', 'block', n, 'dev'));
    if (dev) numbers.push(dev);
  }
  return { names, numbers };
}

/** Mount entries that belong to the identified device or its partitions. */
export function mountsMatching(entries: readonly MountEntry[], identity: BlockIdentity): MountEntry[] {
  const parent = identity.names[0] ?? '';
  return entries.filter((entry) => {
    if (identity.numbers.includes(entry.majorMinor)) return true;
    if (!entry.source.startsWith('/dev/')) return false;
    const sourceName = basename(entry.source);
    return sourceName === parent || isPartitionName(sourceName, parent);
  });
}

export async function readMountinfo(path = '/proc/self/mountinfo'): Promise<MountEntry[]> {
  return parseMountinfo(await readFile(path, 'utf8'));
}

/** Every mount of the device or its partitions (Linux). */
export async function mountsOfDevice(devicePath: string): Promise<MountEntry[]> {
  const [entries, identity] = await Promise.all([readMountinfo(), blockIdentity(devicePath)]);
  return mountsMatching(entries, identity);
}
