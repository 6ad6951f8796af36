/**
 * The words of main's own question before a station is armed, in one place: the Electron shell shows them
 * in a native dialog, the browser host sends them to the page as a ConfirmRequest.
 */
import type { ConfirmRequest, DriveInfo, StationRequest } from './api';
import { LARGE_DRIVE_BYTES } from './drive-rules';
import { formatBytes } from './format';

const driveText = (d: DriveInfo): string => `${d.description || d.device} (${d.device}, ${formatBytes(d.size)})`;

/** Most present drives named one by one in the question (the rest are counted). */
const MAX_NAMED = 8;

export function stationConfirmation(
  request: Pick<StationRequest, 'maxCards' | 'maxSizeBytes' | 'slots'>,
  imageName: string,
  present: readonly DriveInfo[],
): Omit<ConfirmRequest, 'id'> {
  const limit = formatBytes(request.maxSizeBytes ?? LARGE_DRIVE_BYTES);
  const slots = request.slots.length > 0 ? `, and only drives in the ${request.slots.length === 1 ? 'chosen slot' : `${request.slots.length} chosen slots`}` : '';
  const named = present.slice(0, MAX_NAMED).map((d) => `  ${driveText(d)}`);
  if (present.length > MAX_NAMED) named.push(`  and ${present.length - MAX_NAMED} more`);
  const untouched =
    present.length === 0 ? 'No drive is present now.' : `${present.length === 1 ? 'The drive present now is' : `The ${present.length} drives present now are`} never touched:\n${named.join('\n')}`;
  return {
    title: 'Arm the station?',
    message: `Erase and flash ${imageName} onto every card or USB drive inserted from now on?`,
    detail:
      `Up to ${request.maxCards} at a time. Drives larger than ${limit}, read-only drives and system drives are never taken${slots}.\n\n` +
      `${untouched}\n\nEverything on a card the station takes is lost.`,
    confirmLabel: 'Arm station',
    danger: true,
  };
}
