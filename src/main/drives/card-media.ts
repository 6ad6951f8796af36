/**
 * What the station needs to know about the medium in a drive, beside drivelist: who the card is (sysfs
 * identity and, on request, its content fingerprint read from the device) and the kernel's media sequence
 * number, which grows whenever a new medium appears in the same device.
 */
import { open, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { CardIdentity } from '../../shared/card-identity';
import { identifyCard, type CardReader } from './card-identity';

/** Reads the card through a plain read-only handle (a fingerprint is an id, not a proof: no O_DIRECT needed). */
export function deviceReader(device: string): { read: CardReader; close(): Promise<void> } {
  let handle: Awaited<ReturnType<typeof open>> | null = null;
  return {
    read: async (offset, length) => {
      handle ??= await open(device, 'r');
      const buffer = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buffer.subarray(0, done);
    },
    close: async () => {
      await handle?.close();
      handle = null;
    },
  };
}

/** The card in `device`: its sysfs identity, with the content fingerprint when `fingerprint` is set. */
export async function identifyMedium(device: string, fingerprint: boolean, sysRoot = '/sys'): Promise<CardIdentity> {
  if (!fingerprint) return identifyCard(device, { sysRoot });
  const reader = deviceReader(device);
  try {
    return await identifyCard(device, { sysRoot, read: reader.read });
  } catch (err) {
    // A device this process may not read (the app before elevation): the sysfs identity without the fingerprint.
    if (err instanceof Error && 'code' in err && ['EACCES', 'EPERM', 'EIO', 'ENXIO'].includes(String(err.code))) return identifyCard(device, { sysRoot });
    throw err;
  } finally {
    await reader.close();
  }
}

/**
 * identifyMedium with a deadline: a card that does not answer the fingerprint's reads within `timeoutMs` gives
 * null (`onSlow` is told), so whoever waits goes on; the read it left behind ends when the card answers.
 * Any other failure gives null too.
 */
export async function identifyMediumWithin(device: string, fingerprint: boolean, timeoutMs: number, onSlow: () => void = () => undefined): Promise<CardIdentity | null> {
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<null>((resolve) => {
    timer = setTimeout(() => {
      onSlow();
      resolve(null);
    }, timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([identifyMedium(device, fingerprint).catch(() => null), slow]);
  } finally {
    clearTimeout(timer);
  }
}

/** /sys/block/NAME/diskseq (Linux 5.15 and later), null when the kernel does not tell. */
export async function mediaSequence(device: string, sysRoot = '/sys'): Promise<string | null> {
  try {
    const value = (await readFile(`${sysRoot}/block/${basename(device)}/diskseq`, 'utf8')).trim();
    return value === '' ? null : value;
  } catch {
    return null;
  }
}
