/**
 * Maps drivelist's records to DriveInfo. drivelist leaves several flags null on some platforms (isCard,
 * isUSB on Linux); they are inferred here from the bus type and the device name.
 */
import type { DriveInfo } from '../../shared/api';

/** The fields of a drivelist record this module reads (structural, so recorded JSON fixtures fit too). */
export interface DrivelistRecord {
  device: string;
  raw: string;
  description: string;
  size: number | null;
  busType: string;
  isSystem: boolean;
  isRemovable: boolean;
  isReadOnly: boolean;
  isVirtual: boolean | null;
  isCard: boolean | null;
  isUSB: boolean | null;
  mountpoints: { path: string; label: string | null }[];
}

const CARD_BUSES = new Set(['SD', 'MMC', 'SDIO']);

function inferCard(record: DrivelistRecord): boolean {
  if (record.isCard !== null) return record.isCard;
  return CARD_BUSES.has(record.busType.toUpperCase()) || /^\/dev\/mmcblk\d+$/.test(record.device);
}

function inferUsb(record: DrivelistRecord): boolean {
  if (record.isUSB !== null) return record.isUSB;
  return record.busType.toUpperCase() === 'USB';
}

/** A readable description: drivelist's own, else the bus type, else "Unknown drive". */
function describe(record: DrivelistRecord): string {
  const text = record.description.trim();
  if (text !== '') return text;
  if (record.busType && record.busType !== 'UNKNOWN') return `${record.busType} drive`;
  return 'Unknown drive';
}

export function toDriveInfo(record: DrivelistRecord): DriveInfo {
  return {
    device: record.device,
    raw: record.raw || record.device,
    description: describe(record),
    size: typeof record.size === 'number' && Number.isFinite(record.size) ? record.size : null,
    isSystem: Boolean(record.isSystem),
    isRemovable: Boolean(record.isRemovable),
    isReadOnly: Boolean(record.isReadOnly),
    isVirtual: Boolean(record.isVirtual),
    isCard: inferCard(record),
    isUSB: inferUsb(record),
    isLoop: false,
    busType: record.busType || 'UNKNOWN',
    mountpoints: record.mountpoints.map((m) => m.path),
  };
}
