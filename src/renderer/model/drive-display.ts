/**
 * How a drive is named and labelled in the GUI, derived from what main enumerated (DriveInfo): a friendly
 * name where drivelist only gave a vendor id ("0x1af4"), the bus or slot it sits on, and badges that say
 * what matters before erasing it (system, large, read-only, in use). Loop and zram devices are never called
 * "Removable".
 */
import type { DriveInfo } from '../../shared/api';
import { LARGE_DRIVE_BYTES } from '../../shared/drive-rules';

export type BadgeTone = 'danger' | 'warning' | 'info' | 'neutral';

export interface DriveBadge {
  label: string;
  tone: BadgeTone;
  /** What the badge means, for the tooltip and screen readers. */
  detail: string;
}

/** A description that names nothing a person recognises: empty, a PCI/USB vendor id, or our own fallback. */
function meaningless(description: string): boolean {
  const text = description.trim();
  return text === '' || /^(0x)?[0-9a-f]{4}(:[0-9a-f]{4})?$/i.test(text) || /^unknown( drive)?$/i.test(text) || /^[A-Z]+ drive$/.test(text);
}

/** What the device path says about the hardware ("virtio", "NVMe", "SD/MMC"), or null. */
function pathKind(device: string): string | null {
  if (/\/vd[a-z]+$/.test(device)) return 'virtio';
  if (/\/nvme\d+n\d+$/.test(device)) return 'NVMe';
  if (/\/mmcblk\d+$/.test(device)) return 'SD/MMC';
  if (/\/zram\d+$/.test(device)) return 'zram';
  if (/\/loop\d+$/.test(device)) return 'loop';
  return null;
}

function kindName(drive: DriveInfo): string {
  if (drive.isLoop) return 'Loop device';
  if (drive.isSystem) return 'System disk';
  if (drive.isCard) return 'SD card';
  if (drive.isUSB) return 'USB drive';
  if (drive.isVirtual) return /zram/.test(drive.device) ? 'Compressed RAM disk' : 'Virtual disk';
  return drive.isRemovable ? 'Removable drive' : 'Internal disk';
}

/** The name shown in large type: the description when it means something, else vendor + model, else the kind. */
export function driveName(drive: DriveInfo): string {
  if (!meaningless(drive.description)) return drive.description.trim();
  const identity = drive.identity;
  const product = [identity?.vendor, identity?.model].filter((part): part is string => Boolean(part && part.trim())).join(' ');
  if (product !== '') return product;
  const kind = kindName(drive);
  const extra = pathKind(drive.device);
  return extra && !kind.toLowerCase().includes(extra.toLowerCase()) ? `${kind} (${extra})` : kind;
}

const BUS_NAMES: Record<string, string> = {
  USB: 'USB',
  SD: 'SD card slot',
  MMC: 'SD card slot',
  SDIO: 'SD card slot',
  SATA: 'SATA',
  SCSI: 'SCSI',
  NVME: 'NVMe',
  ATA: 'ATA',
  LOOP: 'Loop device',
  VIRTUAL: 'Virtual',
};

/** How the drive is attached, plus its port or slot when main knows it: "USB, port 1-1.3". */
export function driveBus(drive: DriveInfo): string {
  const bus = BUS_NAMES[drive.busType.toUpperCase()] ?? (drive.isUSB ? 'USB' : drive.isCard ? 'SD card slot' : pathKind(drive.device) ?? 'Internal');
  const location = driveLocation(drive);
  return location ? `${bus}, ${location}` : bus;
}

/** A short port or slot name from the sysfs location ("…/usb1/1-1/1-1.3" → "port 1-1.3"), or null. */
export function driveLocation(drive: DriveInfo): string | null {
  const raw = drive.location ?? drive.identity?.slot ?? null;
  if (!raw) return null;
  const usbPort = /(\d+-\d+(?:\.\d+)*)(?::[\d.]+)?\/?$/.exec(raw) ?? /.*\/(\d+-\d+(?:\.\d+)*)/.exec(raw);
  if (usbPort?.[1]) return `port ${usbPort[1]}`;
  const last = raw.split('/').filter(Boolean).pop();
  return last ? `slot ${last}` : null;
}

/** "mounted at /media/me/boot and 1 more", or null when nothing is mounted. */
export function mountText(drive: DriveInfo): string | null {
  const [first, ...rest] = drive.mountpoints;
  if (first === undefined) return null;
  return rest.length === 0 ? `mounted at ${first}` : `mounted at ${first} and ${rest.length} more`;
}

/** Badges, the ones that call for care first. */
export function driveBadges(drive: DriveInfo): DriveBadge[] {
  const badges: DriveBadge[] = [];
  if (drive.isSystem) badges.push({ label: 'System', tone: 'danger', detail: 'Holds your operating system: flashing it erases your computer.' });
  if (drive.size !== null && drive.size > LARGE_DRIVE_BYTES) {
    badges.push({ label: 'Large', tone: 'warning', detail: 'Larger than a card or stick usually is: check it is not a backup disk.' });
  }
  if (drive.isReadOnly) badges.push({ label: 'Read-only', tone: 'warning', detail: 'Write-protected: it cannot be flashed.' });
  const mounted = mountText(drive);
  if (mounted) badges.push({ label: 'In use', tone: 'info', detail: `${capitalise(mounted)}: Sureflash unmounts it before writing.` });
  if (drive.isLoop) badges.push({ label: 'Loop', tone: 'neutral', detail: 'A file attached as a block device (test setups).' });
  else if (drive.isVirtual) badges.push({ label: 'Virtual', tone: 'neutral', detail: 'Not a physical drive.' });
  else if (drive.isCard) badges.push({ label: 'SD card', tone: 'neutral', detail: 'An SD or MMC card.' });
  else if (drive.isUSB) badges.push({ label: 'USB', tone: 'neutral', detail: 'Attached over USB.' });
  else if (drive.isRemovable) badges.push({ label: 'Removable', tone: 'neutral', detail: 'Removable media.' });
  return badges;
}

const capitalise = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
