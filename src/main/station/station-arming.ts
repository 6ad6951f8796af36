/**
 * Arming checks and the per-card job: the options a station accepts, the image it refuses (a bmap whose
 * signature fails, an image that does not match its published sha256), and the engine job for one card.
 */
import type { DriveInfo, ImageInfo } from '../../shared/api';
import { MAX_TARGETS } from '../../shared/api';
import type { CardIdentity } from '../../shared/card-identity';
import { reportIdentityOf } from '../../shared/identity';
import { MAX_RETRIES } from '../../shared/retry-limit';
import type { StationImage, StationOptions } from '../../shared/station';
import { EngineError } from '../engine/errors';
import type { FlashJob } from '../engine/protocol';
import { isHttpUrl } from '../engine/source/http/url-parts';

/** Refuses options that make no sense (USAGE), before anything is checked or armed. */
export function validateStationOptions(options: StationOptions): void {
  const usage = (text: string): never => {
    throw new EngineError('USAGE', text);
  };
  if (typeof options.imagePath !== 'string' || options.imagePath.trim() === '') usage('Choose the image the station flashes.');
  if (options.imagePath === '-' || isHttpUrl(options.imagePath)) {
    usage('A station reads its image again for every card: give a local image file (download it first).');
  }
  if (!Number.isInteger(options.maxCards) || options.maxCards < 1 || options.maxCards > MAX_TARGETS) {
    usage(`The station flashes 1 to ${MAX_TARGETS} cards at a time, not ${String(options.maxCards)}.`);
  }
  if (!Number.isInteger(options.retries) || options.retries < 0 || options.retries > MAX_RETRIES) {
    usage(`Retries are 0 to ${MAX_RETRIES}, not ${String(options.retries)}.`);
  }
  if (options.skipIdentical && !options.readback) usage('Skip-identical reads the card: it cannot be combined with no readback.');
  if (options.maxSizeBytes !== null && !(Number.isFinite(options.maxSizeBytes) && options.maxSizeBytes > 0)) {
    usage(`The size limit must be a positive number of bytes, not ${String(options.maxSizeBytes)}.`);
  }
  if (!Array.isArray(options.slots) || options.slots.some((s) => typeof s !== 'string' || !s.startsWith('/'))) {
    usage('A slot is a sysfs device path starting with "/" (see `sureflash drives --json`, identity.location.slot).');
  }
}

/** Refuses an image whose bmap signature or published sha256 says it must not be written (as a flash would). */
export function refuseUntrusted(info: ImageInfo, options: StationOptions): void {
  const sig = info.signature;
  if (!options.auth?.noSigVerify) {
    if (sig.status === 'invalid') throw new EngineError('SIGNATURE_INVALID', `The bmap of ${info.name} does not match its signature: the station is not armed.`);
    if (sig.status === 'unknown-key') {
      throw new EngineError('SIGNATURE_UNKNOWN_KEY', `The bmap of ${info.name} is signed by a key that is not trusted here${sig.fingerprint ? ` (${sig.fingerprint})` : ''}: the station is not armed.`);
    }
  }
  if (info.checksum.status === 'mismatch') {
    throw new EngineError('CHECKSUM_MISMATCH', `${info.name} does not match its published sha256 (${info.checksum.source ?? 'sha256'}): the station is not armed.`);
  }
}

/** The job for one card. */
export function stationJob(options: StationOptions, image: StationImage, drive: DriveInfo, identity: CardIdentity | null): FlashJob {
  const job: FlashJob = {
    mode: 'copy',
    image: image.path,
    targets: [{ path: drive.raw, identity: identity ? reportIdentityOf(identity) : null }],
    readback: options.readback,
    verifySource: true,
    retries: options.retries,
    skipIdentical: options.skipIdentical,
    probe: options.probe,
    decoder: 'auto',
    requireBlockDevice: true,
  };
  if (options.bmapPath === null) job.noBmap = true;
  else if (image.bmapPath !== null) job.bmapPath = image.bmapPath;
  if (options.auth && Object.keys(options.auth).length > 0) job.auth = { ...options.auth };
  if (options.ioTimeoutMs !== undefined) job.ioTimeoutMs = options.ioTimeoutMs;
  return job;
}
