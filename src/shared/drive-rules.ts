/**
 * Drive-safety rules: pure functions that turn the facts about a drive (DriveInfo) into a verdict the
 * renderer shows and main enforces at flash time. Main never trusts the renderer's verdict: it calls
 * `checkFlashAllowed` on a fresh enumeration.
 */
import type { DriveInfo } from './api';
import type { ErrorCode } from './errors';
import { formatBytes } from './format';

/** Drives above this size (SI bytes) are more likely a backup disk than a card or stick. */
export const LARGE_DRIVE_BYTES = 128e9;

export type DriveStatus = 'ok' | 'warning' | 'disabled' | 'hidden';

export type DriveReasonCode =
  | 'SYSTEM_DRIVE'
  | 'TOO_SMALL'
  | 'READ_ONLY'
  | 'SOURCE_DRIVE'
  | 'VIRTUAL'
  | 'UNKNOWN_SIZE'
  | 'LARGE';

export interface DriveReason {
  code: DriveReasonCode;
  message: string;
  /** 'error' makes the drive unselectable; 'warning' lets the user go on (some only after confirming). */
  severity: 'error' | 'warning';
}

export interface DriveVerdict {
  status: DriveStatus;
  /** Short labels for the drive list: "Removable", "SD card", "USB", "Loop", "System", "Large", "Read-only". */
  badges: string[];
  reasons: DriveReason[];
}

export interface DriveContext {
  /** Uncompressed image size in bytes, null when not known yet (no size check then). */
  imageSize: number | null;
  /** Absolute path of the selected image, null when none is selected. */
  imagePath: string | null;
  /** Show system drives (as warnings) instead of hiding them. */
  showHidden: boolean;
  /**
   * Every enumerated drive. When given, only the drive whose mountpoint holds the image most closely is the
   * source drive (an image on /media/card is not "on" the system drive mounted at /). Without it, any
   * mountpoint holding the image counts, which errs on the safe side.
   */
  allDrives?: readonly DriveInfo[];
}

/** Warning codes the user must explicitly acknowledge (FlashRequest.acknowledged) before flashing. */
export const ACKNOWLEDGE_CODES: readonly DriveReasonCode[] = ['LARGE', 'SYSTEM_DRIVE'];

const looksWindows = (path: string): boolean => /^[a-zA-Z]:/.test(path) || path.startsWith('\\\\');

/** Normalises a path for prefix tests: no "." / ".." / empty segments; Windows: forward slashes, lower case. */
function normalisePath(path: string, windows: boolean): string {
  const slashed = windows ? path.replace(/\\/g, '/').toLowerCase() : path;
  const absolute = slashed.startsWith('/');
  const segments: string[] = [];
  for (const segment of slashed.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return (absolute ? '/' : '') + segments.join('/');
}

/**
 * True when `path` is `dir` itself or lies inside it, on whole path segments: "/media/ab/x.img" is not
 * inside "/media/a". Handles Windows drive letters ("E:\\" holds "e:\\images\\x.img").
 */
export function isPathInside(path: string, dir: string): boolean {
  const windows = looksWindows(path) || looksWindows(dir);
  const p = normalisePath(path, windows);
  const d = normalisePath(dir, windows);
  if (d === '' || p === '') return false;
  if (d === '/') return p.startsWith('/');
  return p === d || p.startsWith(`${d}/`);
}

const mountDepth = (mountpoint: string): number => normalisePath(mountpoint, looksWindows(mountpoint)).length;

/** Length of the deepest mountpoint of `drive` holding `path`, or -1 when none does. */
function deepestMountHolding(drive: DriveInfo, path: string): number {
  let best = -1;
  for (const mountpoint of drive.mountpoints) {
    if (isPathInside(path, mountpoint)) best = Math.max(best, mountDepth(mountpoint));
  }
  return best;
}

/** The mountpoint of `drive` that holds `path` most closely, or null. */
function holdingMountpoint(drive: DriveInfo, path: string): string | null {
  const depth = deepestMountHolding(drive, path);
  return drive.mountpoints.find((m) => isPathInside(path, m) && mountDepth(m) === depth) ?? null;
}

/** True when the image file lives on a filesystem of this drive (writing would destroy the source). */
export function isSourceDrive(drive: DriveInfo, imagePath: string | null, allDrives?: readonly DriveInfo[]): boolean {
  if (!imagePath) return false;
  const depth = deepestMountHolding(drive, imagePath);
  if (depth < 0) return false;
  if (!allDrives) return true;
  return allDrives.every((other) => other.device === drive.device || deepestMountHolding(other, imagePath) <= depth);
}

function driveBadges(drive: DriveInfo): string[] {
  const badges: string[] = [];
  if (drive.isSystem) badges.push('System');
  if (drive.isLoop) badges.push('Loop');
  if (drive.isCard) badges.push('SD card');
  if (drive.isUSB) badges.push('USB');
  if (drive.isRemovable) badges.push('Removable');
  if (drive.isReadOnly) badges.push('Read-only');
  if (drive.size !== null && drive.size > LARGE_DRIVE_BYTES) badges.push('Large');
  return badges;
}

function driveReasons(drive: DriveInfo, ctx: DriveContext): DriveReason[] {
  const reasons: DriveReason[] = [];
  const error = (code: DriveReasonCode, message: string): void => void reasons.push({ code, message, severity: 'error' });
  const warning = (code: DriveReasonCode, message: string): void => void reasons.push({ code, message, severity: 'warning' });

  if (drive.isVirtual && !drive.isLoop) {
    error('VIRTUAL', 'Virtual drive (RAM disk or disk image): not a card or stick you can flash.');
  }
  if (drive.size === null || !(drive.size > 0)) {
    error('UNKNOWN_SIZE', 'Size unknown: the drive reports no capacity (empty card reader or no medium).');
  }
  if (drive.isReadOnly) {
    const hint = drive.isCard ? ' Slide the lock switch on the card away from "Lock".' : '';
    error('READ_ONLY', `Read-only: the drive is write-protected.${hint}`);
  }
  if (ctx.imagePath && isSourceDrive(drive, ctx.imagePath, ctx.allDrives)) {
    const at = holdingMountpoint(drive, ctx.imagePath);
    error('SOURCE_DRIVE', `Holds the image: the image file is on this drive (mounted at ${at ?? 'unknown'}).`);
  }
  if (ctx.imageSize !== null && drive.size !== null && drive.size > 0 && drive.size < ctx.imageSize) {
    error('TOO_SMALL', `Too small: ${formatBytes(drive.size)} drive, ${formatBytes(ctx.imageSize)} image.`);
  }
  if (drive.isSystem) {
    warning('SYSTEM_DRIVE', 'System drive: writing to it erases your operating system and your files.');
  }
  if (drive.size !== null && drive.size > LARGE_DRIVE_BYTES) {
    warning('LARGE', `Unusually large (${formatBytes(drive.size)}): check that this is not a backup or data disk.`);
  }
  return reasons;
}

/**
 * The verdict for one drive: 'hidden' for system drives unless `showHidden`, 'disabled' when any reason is an
 * error, 'warning' when any is a warning, else 'ok'. Reasons are listed errors first.
 */
export function evaluateDrive(drive: DriveInfo, ctx: DriveContext): DriveVerdict {
  const reasons = driveReasons(drive, ctx);
  const badges = driveBadges(drive);
  let status: DriveStatus = 'ok';
  if (drive.isSystem && !ctx.showHidden) status = 'hidden';
  else if (reasons.some((r) => r.severity === 'error')) status = 'disabled';
  else if (reasons.length > 0) status = 'warning';
  return { status, badges, reasons };
}

/** Evaluates every drive with `allDrives` filled in, so the source-drive rule sees the whole picture. */
export function evaluateDrives(
  drives: readonly DriveInfo[],
  ctx: Omit<DriveContext, 'allDrives'>,
): { drive: DriveInfo; verdict: DriveVerdict }[] {
  return drives.map((drive) => ({ drive, verdict: evaluateDrive(drive, { ...ctx, allDrives: drives }) }));
}

/** Warning codes of a verdict that still need the user's explicit confirmation. */
export function pendingAcknowledgements(verdict: DriveVerdict, acknowledged: readonly string[]): DriveReasonCode[] {
  return verdict.reasons
    .filter((r) => r.severity === 'warning' && ACKNOWLEDGE_CODES.includes(r.code) && !acknowledged.includes(r.code))
    .map((r) => r.code);
}

export type FlashAllowed = { ok: true } | { ok: false; code: ErrorCode; message: string };

const REFUSAL_CODE: Partial<Record<DriveReasonCode, ErrorCode>> = {
  TOO_SMALL: 'TARGET_TOO_SMALL',
  READ_ONLY: 'TARGET_READ_ONLY',
};

/**
 * Main's gate at flash time, on a fresh enumeration. System drives are judged as if shown (a hidden drive
 * is still refused unless SYSTEM_DRIVE was acknowledged). Disabled → refused with the first error; any
 * unacknowledged warning from ACKNOWLEDGE_CODES → refused, naming them.
 */
export function checkFlashAllowed(drive: DriveInfo, ctx: DriveContext, acknowledged: readonly string[]): FlashAllowed {
  const verdict = evaluateDrive(drive, { ...ctx, showHidden: true });
  const firstError = verdict.reasons.find((r) => r.severity === 'error');
  if (firstError) {
    return {
      ok: false,
      code: REFUSAL_CODE[firstError.code] ?? 'TARGET_NOT_ALLOWED',
      message: `${drive.device} cannot be flashed. ${firstError.message}`,
    };
  }
  const pending = pendingAcknowledgements(verdict, acknowledged);
  if (pending.length > 0) {
    const what = verdict.reasons
      .filter((r) => pending.includes(r.code))
      .map((r) => `${r.code} (${r.message})`)
      .join('; ');
    return {
      ok: false,
      code: 'TARGET_NOT_ALLOWED',
      message: `${drive.device} needs your explicit confirmation first: ${what}`,
    };
  }
  return { ok: true };
}
