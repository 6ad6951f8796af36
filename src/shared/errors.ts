/**
 * Error codes shared by the engine, main and the renderer. Every failure carries one of these plus a
 * message that names what is wrong; `nextStep` gives the plain-words advice shown on the final screen.
 */
export const ERROR_CODES = [
  'USAGE',
  'IMAGE_NOT_FOUND',
  'IMAGE_UNREADABLE',
  'IMAGE_IS_BMAP',
  'IMAGE_SIZE_MISMATCH',
  'SOURCE_TRUNCATED',
  'SOURCE_CORRUPT',
  'SOURCE_CHECKSUM_MISMATCH',
  'ARCHIVE_AMBIGUOUS',
  'ARCHIVE_EMPTY',
  'BMAP_NOT_FOUND',
  'BMAP_INVALID',
  'BMAP_UNSUPPORTED_VERSION',
  'BMAP_CHECKSUM_MISMATCH',
  'TARGET_NOT_FOUND',
  'TARGET_INVALID',
  'TARGET_TOO_SMALL',
  'TARGET_MOUNTED',
  'TARGET_BUSY',
  'TARGET_READ_ONLY',
  'TARGET_NOT_ALLOWED',
  'TARGET_CHANGED',
  'TARGET_IS_SOURCE',
  'TARGET_COUNTERFEIT',
  'PERMISSION_DENIED',
  'DEVICE_LOST',
  'DEVICE_STALLED',
  'REPORT_UNWRITABLE',
  'WRITE_FAILED',
  'READBACK_MISMATCH',
  'CANCELLED',
  'ELEVATION_REFUSED',
  /** The user said no to main's "Erase …?" question (or did not answer): nothing was written. */
  'NOT_CONFIRMED',
  'HISTORY_UNAVAILABLE',
  'DOWNLOAD_FAILED',
  'DOWNLOAD_NOT_FOUND',
  'DOWNLOAD_DENIED',
  'DOWNLOAD_TLS',
  'DOWNLOAD_TIMEOUT',
  'DOWNLOAD_NOT_RESUMABLE',
  'DOWNLOAD_CHANGED',
  'SIGNATURE_INVALID',
  'SIGNATURE_UNKNOWN_KEY',
  'SIGNATURE_MISSING',
  'CHECKSUM_MISMATCH',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** What the user can do next, per error code (shown under the error message). */
export function nextStep(code: ErrorCode): string {
  switch (code) {
    case 'READBACK_MISMATCH':
      return 'The card did not keep what was written. Replace the card, or flash again with more retries.';
    case 'DEVICE_LOST':
      return 'Check that the drive is still connected, then flash again.';
    case 'DEVICE_STALLED':
      return 'The drive stopped answering. Unplug it and plug it in again (or try another reader), then flash again.';
    case 'TARGET_COUNTERFEIT':
      return 'Do not use this card: it does not hold what it claims. Replace it with a genuine card.';
    case 'TARGET_IS_SOURCE':
      return 'Choose another drive, or copy the image to a different drive first.';
    case 'TARGET_CHANGED':
      return 'The drive changed while Sureflash was preparing. Select it again and flash.';
    case 'REPORT_UNWRITABLE':
      return 'Choose a report file in a folder you can write to.';
    case 'SOURCE_CHECKSUM_MISMATCH':
    case 'SOURCE_TRUNCATED':
    case 'SOURCE_CORRUPT':
      return 'The image file is damaged. Download it again.';
    case 'BMAP_INVALID':
    case 'BMAP_CHECKSUM_MISMATCH':
    case 'BMAP_UNSUPPORTED_VERSION':
      return 'The bmap file does not fit this image. Download the matching .bmap, or flash without it.';
    case 'TARGET_TOO_SMALL':
      return 'Choose a larger drive.';
    case 'TARGET_MOUNTED':
    case 'TARGET_BUSY':
      return 'Close programs using the drive and unmount it, then try again.';
    case 'PERMISSION_DENIED':
      return 'Sureflash needs administrator rights to write to this drive.';
    case 'ELEVATION_REFUSED':
      return 'Nothing was written. Sureflash needs administrator rights to write to this drive: flash again and allow it.';
    case 'HISTORY_UNAVAILABLE':
      return 'Check that the history file named above can be read and written, or move it away to start a new one.';
    case 'CANCELLED':
      return 'The drive holds a partial image. Flash again before using it.';
    case 'NOT_CONFIRMED':
      return 'The drive was not touched. Press Flash! again when you are sure it may be erased.';
    case 'DOWNLOAD_FAILED':
    case 'DOWNLOAD_TIMEOUT':
      return 'Check the network connection and the address, then flash again. If writing had started, the drive holds a partial image.';
    case 'DOWNLOAD_NOT_FOUND':
      return 'Check the address of the image (or of its bmap): the server has nothing there.';
    case 'DOWNLOAD_DENIED':
      return 'The server wants credentials: put them in the address (https://user:password@host/...) or in ~/.netrc, or ask for access.';
    case 'DOWNLOAD_TLS':
      return 'The server\'s certificate is not trusted. Check the address; for a private certificate authority, set NODE_EXTRA_CA_CERTS to its certificate.';
    case 'DOWNLOAD_NOT_RESUMABLE':
      return 'The server cannot resume a download. Download the image to a file first (or use the cache), then flash the file.';
    case 'DOWNLOAD_CHANGED':
      return 'The image on the server changed while it was being read. Flash again once the new image is published; the drive holds a mix until then.';
    case 'SIGNATURE_INVALID':
      return 'The bmap does not match its signature: it was altered or belongs to another image. Nothing was written. Get the image from its publisher again.';
    case 'SIGNATURE_UNKNOWN_KEY':
      return 'The bmap is signed by a key you have not said you trust. Give the publisher\'s public key with --keyring FILE, or flash with --no-sig-verify if you trust the source.';
    case 'SIGNATURE_MISSING':
      return 'A signature check was asked for but the bmap has no signature. Give it with --bmap-sig FILE, or drop --keyring / --fingerprint.';
    case 'CHECKSUM_MISMATCH':
      return 'The image does not match its published sha256: it is damaged or not the image you meant. Do not use a drive written from it; download the image again.';
    default:
      return 'Check the message above and try again.';
  }
}
