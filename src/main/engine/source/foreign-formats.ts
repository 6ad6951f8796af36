import { afterSkippableFrames } from './detect';

/**
 * Formats Sureflash recognises by their content only to refuse them before writing: written raw, each of
 * them would put its container, not the disk image, on the card. Every entry says what the file is and how
 * to turn it into something Sureflash reads.
 */

/** A recognised format that is not read, in words for the user. */
export interface ForeignFormat {
  /** Short name, e.g. "lz4". */
  name: string;
  /** What it is, e.g. "lz4-compressed". */
  what: string;
  /** How to convert it, e.g. "decompress it first: lz4 -d FILE". */
  how: string;
}

const at = (head: Uint8Array, offset: number, magic: readonly number[]): boolean =>
  head.length >= offset + magic.length && magic.every((byte, i) => head[offset + i] === byte);

const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

const le32 = (head: Uint8Array, offset: number): number =>
  ((head[offset] ?? 0) | ((head[offset + 1] ?? 0) << 8) | ((head[offset + 2] ?? 0) << 16) | ((head[offset + 3] ?? 0) << 24)) >>> 0;

const QEMU = 'convert it to a raw image first: qemu-img convert -O raw FILE disk.img';

/** Container and compression formats with an unmistakable magic number at the start. */
const STRONG: readonly { magic: readonly number[]; offset?: number; format: ForeignFormat }[] = [
  { magic: [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a], format: { name: 'lzo', what: 'lzop-compressed (.lzo)', how: 'decompress it first: lzop -d FILE' } },
  { magic: [0x04, 0x22, 0x4d, 0x18], format: { name: 'lz4', what: 'lz4-compressed', how: 'decompress it first: lz4 -d FILE' } },
  { magic: [0x02, 0x21, 0x4c, 0x18], format: { name: 'lz4', what: 'lz4-compressed (legacy format)', how: 'decompress it first: lz4 -d FILE' } },
  { magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], format: { name: '7z', what: 'a 7-Zip archive', how: 'extract the image from it first: 7z x FILE' } },
  { magic: ascii('Rar!\x1a\x07'), format: { name: 'rar', what: 'a RAR archive', how: 'extract the image from it first: unrar x FILE' } },
  { magic: [0x1f, 0x9d], format: { name: 'compress', what: 'compressed with Unix compress (.Z)', how: 'decompress it first: gzip -dk FILE (gzip reads .Z) or uncompress FILE' } },
  { magic: [0x37, 0xa4, 0x30, 0xec], format: { name: 'zstd-dictionary', what: 'a zstd dictionary, not an image', how: 'give the image file itself' } },
  { magic: ascii('070701'), format: { name: 'cpio', what: 'a cpio archive', how: 'extract the image from it first: cpio -idv < FILE' } },
  { magic: ascii('070702'), format: { name: 'cpio', what: 'a cpio archive', how: 'extract the image from it first: cpio -idv < FILE' } },
  { magic: ascii('070707'), format: { name: 'cpio', what: 'a cpio archive', how: 'extract the image from it first: cpio -idv < FILE' } },
  { magic: ascii('QFI\xfb'), format: { name: 'qcow2', what: 'a QEMU disk image (qcow/qcow2)', how: QEMU } },
  { magic: ascii('KDMV'), format: { name: 'vmdk', what: 'a VMware disk image (VMDK)', how: QEMU } },
  { magic: ascii('# Disk DescriptorFile'), format: { name: 'vmdk', what: 'a VMware disk descriptor (VMDK)', how: QEMU } },
  { magic: ascii('vhdxfile'), format: { name: 'vhdx', what: 'a Hyper-V disk image (VHDX)', how: QEMU } },
  { magic: ascii('conectix'), format: { name: 'vhd', what: 'a dynamic Virtual PC / Hyper-V disk image (VHD)', how: QEMU } },
  { magic: [0x7f, 0x10, 0xda, 0xbe], offset: 0x40, format: { name: 'vdi', what: 'a VirtualBox disk image (VDI)', how: QEMU } },
  { magic: [0x3a, 0xff, 0x26, 0xed], format: { name: 'android-sparse', what: 'an Android sparse image', how: 'convert it to a raw image first: simg2img FILE disk.img' } },
];

/** Formats whose start is a weaker hint; checked only when the file has no partition table or filesystem. */
function weak(head: Uint8Array): ForeignFormat | null {
  // cpio, binary header (either byte order).
  if (at(head, 0, [0xc7, 0x71]) || at(head, 0, [0x71, 0xc7])) {
    return { name: 'cpio', what: 'a cpio archive', how: 'extract the image from it first: cpio -idv < FILE' };
  }
  // lzma "alone" (.lzma): properties byte (lc/lp/pb), a dictionary size of 2^n or 2^n + 2^(n-1), and an
  // uncompressed size that is either unknown (all ones) or below 2^48.
  if (head.length >= 13 && head[0]! < 225) {
    const dict = le32(head, 1);
    const power = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
    const shaped = dict >= 4096 && dict <= 0x60000000 && (power(dict) || power(dict / 3));
    const unknownSize = [5, 6, 7, 8, 9, 10, 11, 12].every((i) => head[i] === 0xff);
    const smallSize = head[11] === 0 && head[12] === 0;
    if (shaped && (unknownSize || smallSize) && head[0] === 0x5d) {
      return { name: 'lzma', what: 'lzma-compressed (.lzma, "lzma alone")', how: 'decompress it first: unlzma -k FILE (or xz --format=lzma -dk FILE)' };
    }
  }
  return null;
}

/**
 * The foreign format `head` (the first bytes of the file, or of what its compression decodes to) starts
 * with, or null. `tail` (the last 512 bytes of a file, when known) finds an Apple disk image (.dmg), whose
 * mark is at the end. `hasDiskSignature` turns off the weak hints (a partition table or filesystem wins).
 */
export function foreignFormat(head: Uint8Array, tail: Uint8Array | null = null, hasDiskSignature = false): ForeignFormat | null {
  for (const { magic, offset, format } of STRONG) if (at(head, offset ?? 0, magic)) return format;
  // lz4 frames may follow skippable frames, as zstd ones do.
  const skipped = afterSkippableFrames(head);
  if (skipped > 0 && at(head, skipped, [0x04, 0x22, 0x4d, 0x18])) return { name: 'lz4', what: 'lz4-compressed', how: 'decompress it first: lz4 -d FILE' };
  if (tail && tail.length >= 512 && at(tail, tail.length - 512, ascii('koly'))) {
    return { name: 'dmg', what: 'an Apple disk image (.dmg)', how: 'convert it to a raw image first: hdiutil convert FILE -format UDTO -o disk (macOS) or dmg2img FILE disk.img' };
  }
  return hasDiskSignature ? null : weak(head);
}
