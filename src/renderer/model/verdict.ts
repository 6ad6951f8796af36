/**
 * What one card's outcome means, in words a person acts on: the headline (Verified / Failed / Cancelled /
 * Written, not checked), one sentence of meaning, whether the card may be removed, and a loud warning when
 * it holds part of an image and must not be used.
 */
import { nextStep, type ErrorCode } from '../../shared/errors';
import { formatBytes } from '../../shared/format';
import type { FlashReport, FlashStatus } from '../../shared/report';
import type { ApiError } from '../../shared/result';
import { guiText } from './gui-text';
import { blocks, rangesText, reportFacts, retriesText, unsafeToUse } from './report-facts';

export interface Verdict {
  status: FlashStatus;
  headline: 'Verified' | 'Failed' | 'Cancelled' | 'Written, not checked';
  meaning: string;
  /** The meaning in a few words, for a row among several cards. */
  short: string;
  /** "You can remove the card now." once the card is flushed (and ejected, with eject on); else null. */
  remove: string | null;
  /** Set when the card holds a partial or unproven image. */
  unsafe: string | null;
  /** What to do next, naming a control that exists. */
  next: string | null;
}

const HEADLINES: Record<FlashStatus, Verdict['headline']> = {
  verified: 'Verified',
  failed: 'Failed',
  cancelled: 'Cancelled',
  'written-unverified': 'Written, not checked',
};

export const UNSAFE_TEXT = 'The card was partly overwritten: it holds part of an image and must not be used. Flash it again, or replace it.';

export const UNCHECKED_IMAGE_TEXT = 'The card holds an image that failed its published checksum: it must not be used. Flash it again from a good download.';

export const MARKERS_ONLY_TEXT =
  'The card was partly overwritten by the capacity check, before any of the image: what it held before is damaged. Flash it again before using it.';

export const MAYBE_UNSAFE_TEXT = 'The card may have been partly overwritten: do not use it until it is flashed again.';

/** Advice for the GUI: the shared next step, with the controls this window has. */
export function guiNextStep(code: ErrorCode): string {
  switch (code) {
    case 'READBACK_MISMATCH':
      return 'Replace the card, or flash it again with more "Retries" in Settings.';
    case 'SOURCE_CHECKSUM_MISMATCH':
    case 'SOURCE_CORRUPT':
    case 'SOURCE_TRUNCATED':
      return 'Download the image again, then flash the card again.';
    case 'TARGET_TOO_SMALL':
      return 'Choose a larger card with "Change target" (or "Select target") in the target step.';
    case 'BMAP_INVALID':
    case 'BMAP_CHECKSUM_MISMATCH':
    case 'BMAP_UNSUPPORTED_VERSION':
      return 'Download the .bmap file that belongs to this image and put it next to the image.';
    case 'CHECKSUM_MISMATCH':
      return 'Download the image again (from its publisher), then flash the card again.';
    case 'SIGNATURE_INVALID':
      return 'Nothing was written. Download the image and its .bmap again from the publisher.';
    case 'SIGNATURE_UNKNOWN_KEY':
      return "Nothing was written. If you trust the publisher, add their public key to gpgv's keyring (trustedkeys.kbx in your GnuPG folder, ~/.gnupg), then open the image again.";
    default:
      return guiText(nextStep(code));
  }
}

function removeText(report: FlashReport): string | null {
  if (report.status !== 'verified' && report.status !== 'written-unverified') return null;
  return report.target.ejected === true ? 'The card was ejected: you can remove it now.' : 'You can remove the card now.';
}

/** True when some range of the image reached the card (written, checked or failed), not only the capacity probe. */
const imageReached = (report: FlashReport): boolean => report.ranges.some((r) => r.state !== 'pending');

function failedMeaning(report: FlashReport): string {
  const facts = reportFacts(report);
  if (report.probe?.status === 'failed') {
    const real = report.probe.realBytesEstimate;
    return `The card is not as large as it claims${real !== null ? `: it holds about ${formatBytes(real)} of ${formatBytes(report.probe.claimedBytes)}` : ''}. It is probably counterfeit.`;
  }
  if (facts.source.length > 0) {
    return `The image file is damaged: ${rangesText(facts.source.length)} of it ${facts.source.length === 1 ? 'does' : 'do'} not match its block map.`;
  }
  if (report.error?.code === 'SOURCE_CHECKSUM_MISMATCH') return 'The image file is damaged: part of it does not match its block map.';
  // Known only once a streamed download has ended: the card holds every byte of an image that failed its check.
  if (report.error?.code === 'CHECKSUM_MISMATCH') {
    return imageReached(report)
      ? 'The downloaded image does not match its published checksum: the card holds an image that failed its check.'
      : 'The downloaded image does not match its published checksum: this was found before any of it was written.';
  }
  if (facts.failed.length > 0) {
    if (report.mode === 'verify') return `The card does not hold this image: ${blocks(facts.badBlocks)} ${facts.badBlocks === 1 ? 'differs' : 'differ'}.`;
    const tries = report.options.retries > 0 ? `, even after ${retriesText(report.options.retries)}` : ' (retries are off in Settings)';
    return `${blocks(facts.badBlocks)} did not hold what was written${tries}: the card is worn or faulty.`;
  }
  return report.error ? guiText(report.error.message) : 'The card did not end up holding the image.';
}

export const SHORT_UNSAFE_TEXT = 'Partly overwritten: it must not be used until it is flashed again.';

function shortMeaning(status: FlashStatus, meaning: string, verify: boolean): string {
  switch (status) {
    case 'verified':
      return verify ? 'The card holds this image.' : 'Read back from the card after a flush: it holds the image.';
    case 'written-unverified':
      return 'Written without reading it back.';
    case 'cancelled':
      return 'Stopped before the end.';
    case 'failed':
      return meaning;
  }
}

/** The verdict of one card's report. */
export function cardVerdict(report: FlashReport): Verdict {
  const status = report.status;
  let unsafe: string | null = null;
  if (unsafeToUse(report)) {
    // Only the capacity check's markers reached the card (no range of the image): say that, not "part of an image".
    if (!imageReached(report)) unsafe = MARKERS_ONLY_TEXT;
    else unsafe = report.error?.code === 'CHECKSUM_MISMATCH' ? UNCHECKED_IMAGE_TEXT : UNSAFE_TEXT;
  }
  const verify = report.mode === 'verify';
  let meaning: string;
  let next: string | null = null;
  switch (status) {
    case 'verified':
      meaning = verify
        ? 'The card holds this image: every mapped block read from it matches.'
        : report.verification?.finalPass
          ? 'Every written block was read back from the card itself after a flush, and checked once more at the end.'
          : 'Every written block was read back from the card itself after a flush, and matched.';
      break;
    case 'written-unverified':
      meaning = 'The image was written but not read back ("Read back and verify" is off in Settings), so nothing proves the card holds it.';
      break;
    case 'cancelled':
      meaning = unsafe ? 'You stopped it before the end.' : verify ? 'You stopped the check before the end.' : 'You stopped it before anything was written.';
      break;
    case 'failed':
      meaning = failedMeaning(report);
      if (report.error) next = guiNextStep(report.error.code);
      break;
  }
  return { status, headline: HEADLINES[status], meaning, short: shortMeaning(status, meaning, verify), remove: removeText(report), unsafe, next };
}

/** A job that ended without a report for this card (it could not start, or the engine broke). */
export function errorVerdict(error: ApiError): Verdict {
  const stopped = error.code === 'CANCELLED' || error.code === 'ELEVATION_REFUSED';
  return {
    status: stopped ? 'cancelled' : 'failed',
    headline: stopped ? 'Cancelled' : 'Failed',
    meaning: guiText(error.message),
    short: guiText(error.message),
    remove: null,
    // The job had started: what reached the card before it broke is unknown.
    unsafe: stopped ? null : MAYBE_UNSAFE_TEXT,
    next: error.code === 'CANCELLED' ? null : guiNextStep(error.code),
  };
}
