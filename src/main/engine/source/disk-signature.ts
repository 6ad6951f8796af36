/**
 * Does an image start like a disk? Looks for a partition table or a filesystem in its first bytes (pass
 * DISK_SIGNATURE_BYTES of the decoded image): GPT, ISO 9660, FAT12/16/32, exFAT, NTFS, an MBR with sane
 * partition entries, ext2/3/4, btrfs, XFS, squashfs, F2FS, LUKS. A file with none of them (a text file, a
 * download error page, an archive Sureflash does not know) is probably not what the user meant to flash.
 */

/** Bytes of the image start the checks need (btrfs keeps its superblock at 64 KiB). */
export const DISK_SIGNATURE_BYTES = 68 * 1024;

const u16 = (b: Uint8Array, o: number): number => (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);
const u32 = (b: Uint8Array, o: number): number => (u16(b, o) | (u16(b, o + 2) << 16)) >>> 0;
const text = (b: Uint8Array, o: number, s: string): boolean =>
  b.length >= o + s.length && [...s].every((c, i) => b[o + i] === c.charCodeAt(0));

/** A boot sector that ends with 0x55 0xAA. */
const bootSignature = (b: Uint8Array, sector = 0): boolean => b[sector + 510] === 0x55 && b[sector + 511] === 0xaa;

/** x86 jump at the start of a volume boot record: EB xx 90 or E9 xx xx. */
const jump = (b: Uint8Array): boolean => (b[0] === 0xeb && b[2] === 0x90) || b[0] === 0xe9;

function fat(b: Uint8Array): string | null {
  if (!bootSignature(b) || !jump(b)) return null;
  const bytesPerSector = u16(b, 11);
  const sectorsPerCluster = b[13] ?? 0;
  const bpbOk = [512, 1024, 2048, 4096].includes(bytesPerSector) && sectorsPerCluster > 0 && (sectorsPerCluster & (sectorsPerCluster - 1)) === 0;
  if (!bpbOk) return null;
  if (text(b, 82, 'FAT32   ')) return 'fat32';
  if (text(b, 54, 'FAT16   ')) return 'fat16';
  if (text(b, 54, 'FAT12   ')) return 'fat12';
  if (text(b, 54, 'FAT     ')) return 'fat';
  return null;
}

/** An MBR partition table: boot signature and four entries that each are empty or plausible, one at least used. */
function mbr(b: Uint8Array): boolean {
  if (b.length < 512 || !bootSignature(b)) return false;
  let used = 0;
  for (let i = 0; i < 4; i++) {
    const e = 446 + 16 * i;
    const status = b[e];
    const type = b[e + 4];
    if (status !== 0x00 && status !== 0x80) return false;
    if (type === 0) continue;
    if (u32(b, e + 8) === 0 || u32(b, e + 12) === 0) return false;
    used++;
  }
  return used > 0;
}

function ext(b: Uint8Array): string | null {
  const sb = 1024;
  if (b.length < sb + 0x68 || u16(b, sb + 0x38) !== 0xef53) return null;
  const compat = u32(b, sb + 0x5c);
  const incompat = u32(b, sb + 0x60);
  // extents, 64bit or flex_bg only exist on ext4; a journal without them is ext3.
  if (incompat & (0x40 | 0x80 | 0x200)) return 'ext4';
  return compat & 0x4 ? 'ext3' : 'ext2';
}

/** The partition table or filesystem the image starts with ("gpt", "mbr", "iso9660", "ext4", "fat32", ...), or null. */
export function diskSignature(b: Uint8Array): string | null {
  if (text(b, 512, 'EFI PART') || text(b, 4096, 'EFI PART')) return 'gpt';
  if (text(b, 32769, 'CD001')) return 'iso9660';
  if (text(b, 3, 'EXFAT   ') && bootSignature(b)) return 'exfat';
  if (text(b, 3, 'NTFS    ') && bootSignature(b)) return 'ntfs';
  const fatType = fat(b);
  if (fatType) return fatType;
  if (mbr(b)) return 'mbr';
  const extType = ext(b);
  if (extType) return extType;
  if (text(b, 65536 + 0x40, '_BHRfS_M')) return 'btrfs';
  if (text(b, 0, 'XFSB')) return 'xfs';
  if (text(b, 0, 'hsqs')) return 'squashfs';
  if (u32(b, 1024) === 0xf2f52010) return 'f2fs';
  if (text(b, 0, 'LUKS\xba\xbe')) return 'luks';
  return null;
}

export const NOT_A_DISK_WARNING = 'This file does not look like a disk image: no partition table or filesystem was found at its start.';
