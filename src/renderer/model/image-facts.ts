/**
 * Plain-words facts about the chosen image for the image step: its size and format, what the block map
 * will write, whether its signature and checksum were proven (fields a URL-capable main adds; absent ones
 * are simply not shown), and whether it looks like a disk image at all.
 */
import type { ImageInfo } from '../../shared/api';
import { formatBytes } from '../../shared/format';

/**
 * An image as the step shows it. Older mains (and some test doubles) leave out the authenticity fields: those
 * are then simply not shown.
 */
export type TrustedImage = Omit<ImageInfo, 'source' | 'signature' | 'checksum'> & Partial<Pick<ImageInfo, 'source' | 'signature' | 'checksum'>>;

export interface TrustLine {
  tone: 'good' | 'bad' | 'warning' | 'neutral';
  text: string;
  /** Details for the tooltip (key fingerprint, where the checksum came from): never in the running text. */
  detail?: string;
}

const COMPRESSION_NAMES: Record<ImageInfo['compression'], string> = {
  none: 'raw',
  gzip: 'gzip',
  bzip2: 'bzip2',
  xz: 'xz',
  zstd: 'zstd',
  zip: 'zip',
};

export const imageSizeOf = (image: ImageInfo): number | null => image.imageSize ?? image.bmap?.imageSize ?? null;

/** "2 GB image · zstd, 300 MB file" (the file size only when it differs from the image's). */
export function sizeLine(image: ImageInfo): string {
  const size = imageSizeOf(image);
  const format = COMPRESSION_NAMES[image.compression];
  const file = image.compression !== 'none' ? `${format}, ${formatBytes(image.fileSize)} file` : 'raw image';
  return `${size !== null ? `${formatBytes(size)}` : 'Size known after reading'} · ${file}`;
}

function percent(part: number, whole: number): string {
  const value = (part / whole) * 100;
  return value > 0 && value < 1 ? value.toFixed(2) : value.toFixed(1);
}

/** What the block map means for this flash: "Writes 500 MB of it (25.0%)", or the whole image without one. */
export function writesLine(image: ImageInfo): string {
  const bmap = image.bmap;
  if (!bmap) return `Writes all ${formatBytes(imageSizeOf(image))}: no block map`;
  const share = bmap.imageSize > 0 ? ` (${percent(bmap.mappedBytes, bmap.imageSize)}%)` : '';
  return `Writes ${formatBytes(bmap.mappedBytes)} of it${share}`;
}

/** "From example.org" for an image opened from a link (the host only: never credentials or a query). */
export function originLine(image: TrustedImage): string | null {
  if (image.source !== 'url') return null;
  try {
    return `From ${new URL(image.path).host}`;
  } catch {
    return null;
  }
}

/** The block map itself: "bmap 2.0, sha256 checksums", or null without one. */
export function bmapLine(image: ImageInfo): string | null {
  const bmap = image.bmap;
  return bmap ? `bmap ${bmap.version}, ${bmap.checksumType ?? 'no'} checksums` : null;
}

/** The name of an OpenPGP user id without its e-mail address: "Raspberry Pi Foundation <…>" → "Raspberry Pi Foundation". */
export function signerName(userId: string | undefined): string | undefined {
  if (!userId) return undefined;
  const name = userId.replace(/\s*<[^>]*>\s*$/, '').trim();
  return name === '' ? userId : name;
}

/** "Signed by …" and "Checksum matches" lines, when main checked them. */
export function trustLines(image: TrustedImage): TrustLine[] {
  const lines: TrustLine[] = [];
  const signature = image.signature;
  if (signature) {
    const key = signature.fingerprint ? `Key fingerprint ${signature.fingerprint}` : undefined;
    const detail = [signature.signer, key, signature.source ? `Signature: ${signature.source}` : undefined].filter(Boolean).join('\n') || undefined;
    switch (signature.status) {
      case 'valid':
        lines.push({ tone: 'good', text: `Signed by ${signerName(signature.signer) ?? 'a trusted key'}`, detail });
        break;
      case 'invalid':
        lines.push({ tone: 'bad', text: 'The signature does not match: do not use this image', detail });
        break;
      case 'unknown-key':
        lines.push({ tone: 'bad', text: signature.signer ? `Signed by ${signerName(signature.signer)}: a key you have not trusted` : 'Signed by a key you have not trusted', detail });
        break;
      case 'unsigned':
        if (image.source === 'url') lines.push({ tone: 'neutral', text: 'Not signed' });
        break;
      case 'not-checked':
        break;
    }
  }
  const checksum = image.checksum;
  if (checksum) {
    const from = checksum.source ? `SHA-256 from ${checksum.source}` : 'SHA-256';
    switch (checksum.status) {
      case 'matches':
        lines.push({ tone: 'good', text: 'Checksum matches', detail: from });
        break;
      case 'mismatch':
        lines.push({ tone: 'bad', text: 'Checksum does not match: the image is damaged', detail: from });
        break;
      case 'pending':
        lines.push({ tone: 'neutral', text: 'Checksum is checked while writing', detail: `${from}: checked over the download as it streams; a mismatch fails the flash at its end` });
        break;
      case 'not-checked':
        lines.push({ tone: 'neutral', text: "Checksum: the block map's checksums prove it instead", detail: `${from}: only the mapped parts are downloaded, so the whole file cannot be hashed` });
        break;
      case 'none':
        break;
    }
  }
  return lines;
}

/** Probe warnings the trust lines already say (kept out of the warning list, not said twice). */
const SAID_BY_TRUST_LINES = [/^The published sha256 is checked while the image downloads/, /^A sha256 is published but only the mapped parts are downloaded/];

/** The image's warnings worth listing under it. */
export function imageWarnings(image: TrustedImage): string[] {
  return image.warnings.filter((w) => !(image.checksum && SAID_BY_TRUST_LINES.some((said) => said.test(w))));
}

/**
 * Why main will refuse to flash this image (its signature or published checksum), as a sentence shown under
 * "This image cannot be flashed", with what to do; null when nothing stands in the way.
 */
export function imageRefusal(image: TrustedImage): { reason: string; next: string } | null {
  if (image.signature?.status === 'invalid') {
    return { reason: "Its block map's signature does not match", next: 'The image or its .bmap was changed after it was signed: download both again from the publisher.' };
  }
  if (image.signature?.status === 'unknown-key') {
    return {
      reason: 'Its block map is signed by a key you have not trusted',
      next: "If you trust the publisher, add their public key to gpgv's keyring (trustedkeys.kbx in your GnuPG folder, ~/.gnupg), then open the image again.",
    };
  }
  if (image.checksum?.status === 'mismatch') {
    return { reason: 'It does not match its published checksum', next: 'The file is damaged or is not the published one: download it again.' };
  }
  return null;
}

export const NOT_A_DISK_IMAGE = /does not look like a disk image/i;

/** True when main found no partition table or filesystem in the image (it may be the wrong file). */
export function looksLikeNoDiskImage(image: ImageInfo): boolean {
  return image.diskSignature === null || image.warnings.some((w) => NOT_A_DISK_IMAGE.test(w));
}

/** The message to show before flashing a file that does not look like a disk image. */
export function noDiskImageText(image: ImageInfo): string {
  return (
    image.warnings.find((w) => NOT_A_DISK_IMAGE.test(w)) ??
    `${image.name} does not look like a disk image: it has no partition table or filesystem at its start.`
  );
}
