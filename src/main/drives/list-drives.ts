/** Enumerates drives through drivelist (plus loop devices on request) as DriveInfo. */
import { list as drivelistList } from 'drivelist';
import type { DriveInfo } from '../../shared/api';
import { toDriveInfo, type DrivelistRecord } from './drivelist-map';
import { listLoopDevices } from './loop-devices';

export interface ListDrivesOptions {
  /** Also list attached loop devices (test option; never on by default). */
  allowLoop: boolean;
}

// A static import: esbuild turns it into a plain require, which also works from inside Electron's asar.
async function drivelistRecords(): Promise<DrivelistRecord[]> {
  return drivelistList();
}

/** Every drive the OS reports, sorted by device path; loop devices only with `allowLoop`. */
export async function listDrives(options: ListDrivesOptions): Promise<DriveInfo[]> {
  const records = await drivelistRecords();
  // drivelist does not list loop devices today; keep them out even if a future version does.
  const drives = records.map(toDriveInfo).filter((d) => !/^\/dev\/loop\d+$/.test(d.device));
  if (options.allowLoop) drives.push(...(await listLoopDevices()));
  return drives.sort((a, b) => a.device.localeCompare(b.device, 'en', { numeric: true }));
}
