/**
 * A card's identity in the form reports carry (src/shared/identity.ts), read from sysfs: vendor, model and
 * serial where the kernel gives them, an SD/MMC card's CID in a native slot, the bus and the slot. No read
 * of the card itself (so no content fingerprint). The CLI fills each DEST's identity with it.
 */
import { reportIdentityOf, type CardIdentity as ReportIdentity } from '../../shared/identity';
import { identifyCard } from './card-identity';

/** The identity of the block device at `path`, or null when it is not one (a regular file) or sysfs says nothing. */
export async function reportIdentity(path: string, sysRoot?: string): Promise<ReportIdentity | null> {
  try {
    return reportIdentityOf(await identifyCard(path, sysRoot ? { sysRoot } : {}));
  } catch {
    return null;
  }
}
