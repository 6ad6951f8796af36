/**
 * Who a card is: the data model of a card's identity and the pure rules behind it (CID decoding, which
 * serial names the card and which the reader, the stable card id). src/main/drives/card-identity.ts fills
 * it from Linux sysfs; reports, the station log and the history store it.
 */

/** How the device is attached. `virtual` covers zram and other devices with no hardware behind them. */
export type CardBus = 'usb' | 'mmc' | 'sata' | 'nvme' | 'virtio' | 'scsi' | 'loop' | 'virtual' | 'unknown';

/**
 * What a serial number identifies. A USB card reader reports its own serial for every card inserted in
 * it, so that serial names the slot (`reader`), never the card; a USB stick's or a disk's serial is the
 * medium itself (`card`); `unknown` when the facts do not tell (see serialScopeOf).
 */
export type SerialScope = 'card' | 'reader' | 'unknown';

/** Where cardId came from, best first. `none`: nothing usable (no serial of the card, no fingerprint). */
export type IdSource = 'cid' | 'serial' | 'fingerprint' | 'none';

/** The card's CID register (SD or MMC), raw and decoded. */
export interface CardCid {
  /** 32 hex digits, as the kernel prints /sys/block/mmcblkN/device/cid. */
  raw: string;
  /** Which layout decoded it: the SD spec's or the MMC (eMMC) spec's. */
  layout: 'SD' | 'MMC';
  /** MID: manufacturer id assigned by the SD Association / JEDEC (e.g. 3 = SanDisk for SD). */
  manufacturerId: number;
  /** OID: OEM / application id, two ASCII characters for SD; a number (hex) for MMC. */
  oemId: string;
  /** PNM: product name, 5 ASCII characters (SD) or 6 (MMC). */
  productName: string;
  /** PRV: product revision "n.m" (BCD). */
  revision: string;
  /** PSN: product serial number, 8 hex digits. */
  serial: string;
  /** MDT: manufacturing date "YYYY-MM" (SD); null when the layout's date cannot be decoded on its own (MMC). */
  manufactured: string | null;
  /**
   * CRC7 of the first 15 bytes: true or false when the last byte carries it, null when the host controller
   * dropped it (SDHCI hosts return the CID without its CRC byte, which then reads 00).
   */
  crcOk: boolean | null;
}

/** The USB device behind a USB-attached drive (the reader or the stick). */
export interface UsbDeviceInfo {
  vendorId: string;
  productId: string;
  manufacturer: string | null;
  product: string | null;
  serial: string | null;
  /** The interface's class/subclass/protocol, e.g. "08/06/50" (mass storage, SCSI, bulk-only). */
  interfaceClass: string | null;
}

/** Where the card sits. */
export interface CardLocation {
  /** The block device's own sysfs devpath (under /sys), e.g. /devices/pci0000:00/…/block/sdb. */
  sysfsPath: string;
  /**
   * A stable id of the physical slot, for production jigs: the USB port's devpath
   * (/devices/…/usb2/2-1.3), the mmc controller's, the ATA port's, the NVMe or virtio function's; for a loop
   * device its own devpath (testing). Null when nothing physical is behind it.
   */
  slot: string | null;
  /** SCSI logical unit in a multi-slot reader (0 for the first slot), null when not SCSI. */
  lun: number | null;
}

/** Everything Sureflash knows about which card a drive holds. */
export interface CardIdentity {
  /** /dev/NAME. */
  device: string;
  /** Kernel name, e.g. sdb, mmcblk0, loop3. */
  name: string;
  /** "major:minor". */
  devNumber: string;
  bus: CardBus;
  vendor: string | null;
  model: string | null;
  /** The serial the kernel gives (USB iSerial, VPD page 0x80, NVMe/virtio serial, the CID's PSN). */
  serial: string | null;
  serialScope: SerialScope;
  /** Why serialScope was chosen, in words (the heuristic is a guess for USB: see serialScopeOf). */
  serialScopeReason: string;
  cid: CardCid | null;
  sizeBytes: number | null;
  removable: boolean;
  readOnly: boolean;
  location: CardLocation;
  usb: UsbDeviceInfo | null;
  /** A loop device's backing file. */
  backingFile: string | null;
  /**
   * SHA-256 (hex) of the card's first MiB followed by its last MiB (the whole card when it is under 2 MiB).
   * A weak id: it names content, not the card — two cards of one size holding the same bytes there (two new
   * cards flashed with one image) get the same one, and writing another image changes it.
   */
  fingerprint: string | null;
  /** Stable id from the best identity available; null when idSource is "none". */
  cardId: string | null;
  idSource: IdSource;
}

const hexByte = (hex: string, index: number): number => Number.parseInt(hex.slice(index * 2, index * 2 + 2), 16);

/** CRC7 (polynomial x^7 + x^3 + 1) over bytes, as the SD and MMC specs define it for the CID and CSD. */
export function crc7(bytes: readonly number[]): number {
  let crc = 0;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit -= 1) {
      const feedback = ((crc >> 6) & 1) ^ ((byte >> bit) & 1);
      crc = (crc << 1) & 0x7f;
      if (feedback) crc ^= 0x09;
    }
  }
  return crc;
}

const ascii = (bytes: number[]): string =>
  bytes.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '?')).join('').trim();

/**
 * Decodes a CID register given as 32 hex digits. SD layout (SD Physical Layer spec, CID register):
 * MID [127:120], OID [119:104] two ASCII, PNM [103:64] five ASCII, PRV [63:56] BCD, PSN [55:24],
 * reserved [23:20], MDT [19:8] (year − 2000 in [19:12], month in [11:8]), CRC7 [7:1], bit 0 always 1.
 * MMC layout (JEDEC eMMC): MID [127:120], CBX [113:112], OID [111:104], PNM [103:56] six ASCII, PRV [55:48],
 * PSN [47:16], MDT [15:8] — its year's base depends on the card's EXT_CSD revision, so `manufactured` is
 * left null there. Returns null when the text is not 32 hex digits.
 */
export function decodeCid(rawText: string, layout: 'SD' | 'MMC' = 'SD'): CardCid | null {
  const raw = rawText.trim().toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(raw)) return null;
  const bytes = Array.from({ length: 16 }, (_, i) => hexByte(raw, i));
  const b = (i: number): number => bytes[i] ?? 0;
  const last = b(15);
  const crcOk = last === 0 ? null : (last & 1) === 1 && last >> 1 === crc7(bytes.slice(0, 15));
  const bcd = (value: number): string => `${value >> 4}.${value & 0x0f}`;
  const hex32 = (from: number): string => bytes.slice(from, from + 4).map((x) => x.toString(16).padStart(2, '0')).join('');
  if (layout === 'SD') {
    const year = 2000 + (((b(13) & 0x0f) << 4) | (b(14) >> 4));
    const month = b(14) & 0x0f;
    return {
      raw,
      layout,
      manufacturerId: b(0),
      oemId: ascii([b(1), b(2)]),
      productName: ascii(bytes.slice(3, 8)),
      revision: bcd(b(8)),
      serial: hex32(9),
      manufactured: month >= 1 && month <= 12 ? `${year}-${String(month).padStart(2, '0')}` : null,
      crcOk,
    };
  }
  return {
    raw,
    layout,
    manufacturerId: b(0),
    oemId: `0x${b(2).toString(16).padStart(2, '0')}`,
    productName: ascii(bytes.slice(3, 9)),
    revision: bcd(b(9)),
    serial: hex32(10),
    manufactured: null,
    crcOk,
  };
}

/** The facts serialScopeOf weighs for a USB drive. */
export interface SerialScopeFacts {
  bus: CardBus;
  /** The kernel's removable flag (the SCSI RMB bit for USB mass storage). */
  removable: boolean;
  /** Logical units the same USB mass-storage interface exposes (≥ 2: a multi-slot reader). */
  lunCount: number;
  /** USB vendor:product (lowercase hex) is on the list of known card-reader chips. */
  knownReaderId: boolean;
  /** SCSI vendor and model, USB manufacturer and product strings. */
  names: readonly (string | null)[];
}

/** Product names card readers use (SCSI model or USB product strings seen on common readers). */
const READER_NAME =
  /card ?reader|cardreader|multi-?card|multi ?reader|flash reader|reader\/writer|sd\/mmc|ms\/ms-?pro|\bcrw\b|\bsddr-|\brdf\d|\bfcr-|micro ?sd|\bsd ?card|\bsdxc\b|\bsdhc\b|\bxd\b|\bcf ?card/i;
/** Product names of USB sticks and disks, whose serial is their own medium's. */
const STICK_NAME = /flash ?drive|flash ?disk|cruzer|datatraveler|jumpdrive|usb ?disk|pen ?drive|thumb ?drive|\bssd\b|portable ssd/i;

/**
 * Which medium a drive's serial identifies. Native mmc, SATA, NVMe, virtio and SCSI disks: the card or
 * disk itself. USB is a guess, since a card reader and a stick both speak USB mass storage (interface class
 * 08, subclass 06) and many sticks set the removable bit too — neither tells them apart. Signs of a reader,
 * strongest first: more than one LUN on the interface (one per slot); a vendor:product id of a known reader
 * chip; a reader-like product name (card reader, SD/MMC, CRW, SDDR-…; "Generic STORAGE DEVICE" is what
 * Genesys Logic readers report). Signs of a stick or disk: not removable, or a stick-like name (Cruzer,
 * DataTraveler, Flash Drive…). Anything else stays `unknown`, and its serial is not used as a card id.
 */
export function serialScopeOf(facts: SerialScopeFacts): { scope: SerialScope; reason: string } {
  switch (facts.bus) {
    case 'mmc':
      return { scope: 'card', reason: 'native SD/MMC slot: the serial is the card’s own (from its CID)' };
    case 'sata':
    case 'nvme':
    case 'virtio':
    case 'scsi':
      return { scope: 'card', reason: `${facts.bus} disk: the serial is the disk’s own` };
    case 'usb':
      break;
    default:
      return { scope: 'unknown', reason: `${facts.bus} device: no hardware serial` };
  }
  const names = facts.names.filter((n): n is string => typeof n === 'string' && n.trim() !== '').map((n) => n.trim());
  if (facts.lunCount >= 2) return { scope: 'reader', reason: `USB device with ${facts.lunCount} LUNs: a multi-slot card reader` };
  if (facts.knownReaderId) return { scope: 'reader', reason: 'USB vendor:product id of a known card-reader chip' };
  const readerName = names.find((n) => READER_NAME.test(n) || /^storage device$/i.test(n));
  if (readerName) return { scope: 'reader', reason: `USB device named "${readerName}": a card reader` };
  if (!facts.removable) return { scope: 'card', reason: 'USB disk without removable media: the serial is the disk’s own' };
  const stickName = names.find((n) => STICK_NAME.test(n));
  if (stickName) return { scope: 'card', reason: `USB device named "${stickName}": a stick, the serial is its own` };
  return { scope: 'unknown', reason: 'USB removable media: cannot tell a card reader from a stick' };
}

const slug = (text: string | null): string =>
  (text ?? '').trim().toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'none';

/** The identity fields cardIdOf needs. */
export type CardIdFacts = Pick<CardIdentity, 'cid' | 'serial' | 'serialScope' | 'vendor' | 'model' | 'fingerprint' | 'sizeBytes'>;

/**
 * A stable card id from the best identity available:
 * - `cid-<30 hex>`: the CID without its CRC byte (which some hosts drop), unique per card;
 * - `sn-<vendor>-<model>-<serial>`: a serial whose scope is the card (never a reader's, never an unknown one);
 * - `fp-<bytes>-<16 hex>`: the fingerprint plus the size — weak, see CardIdentity.fingerprint.
 */
export function cardIdOf(facts: CardIdFacts): { cardId: string | null; idSource: IdSource } {
  if (facts.cid) return { cardId: `cid-${facts.cid.raw.slice(0, 30)}`, idSource: 'cid' };
  if (facts.serial && facts.serial.trim() !== '' && facts.serialScope === 'card') {
    return { cardId: `sn-${slug(facts.vendor)}-${slug(facts.model)}-${slug(facts.serial)}`, idSource: 'serial' };
  }
  if (facts.fingerprint && facts.sizeBytes !== null) {
    return { cardId: `fp-${facts.sizeBytes}-${facts.fingerprint.slice(0, 16)}`, idSource: 'fingerprint' };
  }
  return { cardId: null, idSource: 'none' };
}
