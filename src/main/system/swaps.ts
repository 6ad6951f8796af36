/**
 * Active swap areas on a device (Linux /proc/swaps). A swap partition is not in mountinfo, yet writing over
 * it while the kernel uses it would corrupt memory pages: it counts as "in use".
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { blockIdentity, isPartitionName, type BlockIdentity } from './mountinfo';

/** Device paths or files of active swap areas, from the text of /proc/swaps (octal escapes undone). */
export function parseSwaps(text: string): string[] {
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.split(/\s+/)[0] ?? '')
    .filter((name) => name !== '')
    .map((name) => name.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
}

/** Active swap devices that are the identified device or one of its partitions. */
export function swapsMatching(swaps: readonly string[], identity: BlockIdentity): string[] {
  const parent = identity.names[0] ?? '';
  return swaps.filter((swap) => {
    if (!swap.startsWith('/dev/')) return false;
    const name = basename(swap);
    return identity.names.includes(name) || isPartitionName(name, parent);
  });
}

export async function readSwaps(path = '/proc/swaps'): Promise<string[]> {
  try {
    return parseSwaps(await readFile(path, 'utf8'));
  } catch {
    return [];
  }
}

/** Active swap areas on the device or its partitions (Linux). */
export async function swapsOfDevice(devicePath: string): Promise<string[]> {
  const [swaps, identity] = await Promise.all([readSwaps(), blockIdentity(devicePath)]);
  return swapsMatching(swaps, identity);
}
