/**
 * The chosen targets as the target and flash steps show them: each with its verdict from the shared drive
 * rules, and the notes to read before flashing (mounted ones will be unmounted, warnings, refusals).
 */
import type { DriveInfo, ImageInfo } from '../../shared/api';
import { evaluateDrives, type DriveReason, type DriveVerdict } from '../../shared/drive-rules';
import { imageContext } from '../store/drive-context';
import { driveName } from './drive-display';

export interface ChosenTarget {
  drive: DriveInfo;
  verdict: DriveVerdict;
  name: string;
}

export interface TargetNote {
  tone: 'error' | 'warning' | 'info';
  text: string;
}

/** The chosen devices that are still listed, in the order chosen, with their verdicts. */
export function chosenTargets(drives: readonly DriveInfo[], devices: readonly string[], image: ImageInfo | null): ChosenTarget[] {
  const all = evaluateDrives(drives, imageContext(image, true));
  return devices
    .map((device) => all.find((entry) => entry.drive.device === device))
    .filter((entry): entry is (typeof all)[number] => entry !== undefined)
    .map((entry) => ({ ...entry, name: driveName(entry.drive) }));
}

/** Everything to say before flashing these targets; with several, each note names its drive. */
export function targetNotes(targets: readonly ChosenTarget[]): TargetNote[] {
  const several = targets.length > 1;
  const notes: TargetNote[] = [];
  for (const { drive, verdict } of targets) {
    const who = several ? `${drive.device}: ` : '';
    for (const reason of verdict.reasons) notes.push({ tone: reason.severity === 'error' ? 'error' : 'warning', text: `${who}${reason.message}` });
    const [only, ...more] = drive.mountpoints;
    if (only !== undefined) {
      const text = more.length === 0 ? `Mounted at ${only}: it will be unmounted before writing.` : `${more.length + 1} partitions are mounted: they will be unmounted before writing.`;
      notes.push({ tone: 'info', text: `${who}${text}` });
    }
  }
  return notes;
}

/** True when every target can be flashed (none is refused by the rules). */
export const allFlashable = (targets: readonly ChosenTarget[]): boolean => targets.length > 0 && targets.every((t) => t.verdict.status !== 'disabled');

/** Warnings that need the user's explicit yes, per target. */
export function reasonsToConfirm(targets: readonly ChosenTarget[], codes: readonly string[]): { device: string; reason: DriveReason }[] {
  return targets.flatMap(({ drive, verdict }) => verdict.reasons.filter((r) => r.severity === 'warning' && codes.includes(r.code)).map((reason) => ({ device: drive.device, reason })));
}
