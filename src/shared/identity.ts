/**
 * Who a card is: what the kernel tells about the device and, for SD/MMC cards in a native slot, the card's
 * CID. Filled by main (src/main/drives) and carried in reports, the history and the station log.
 */
import type { CardIdentity as SysfsIdentity } from './card-identity';

/** Where the serial comes from: a USB card reader's serial names the reader (the slot), not the card. */
export type SerialScope = 'card' | 'reader' | 'unknown';

/** Which identity field `cardId` was derived from, best first. */
export type IdSource = 'cid' | 'serial' | 'fingerprint';

export interface CardIdentity {
  /** A stable id for history (derived from the best field available), null when nothing identifies the card. */
  cardId: string | null;
  idSource: IdSource | null;
  vendor: string | null;
  model: string | null;
  serial: string | null;
  serialScope: SerialScope;
  /** SD/MMC Card IDentification register (hex), only for cards in a native mmc slot. */
  cid: string | null;
  /** Bus the device sits on, e.g. "usb", "mmc", "sata", "nvme", "virtio", "loop". */
  bus: string | null;
  /** Physical location (the sysfs device path of the port or slot), usable as a slot id. */
  slot: string | null;
  size: number | null;
}

/** The report's identity of a card identified from sysfs (src/shared/card-identity.ts). */
export function reportIdentityOf(card: SysfsIdentity): CardIdentity {
  return {
    cardId: card.cardId,
    idSource: card.idSource === 'none' ? null : card.idSource,
    vendor: card.vendor,
    model: card.model,
    serial: card.serial,
    serialScope: card.serialScope,
    cid: card.cid?.raw ?? null,
    bus: card.bus,
    slot: card.location.slot,
    size: card.sizeBytes,
  };
}
