/**
 * The checksum-retry limit, defined once: how many extra passes may rewrite the blocks that did not read
 * back. The CLI (--checksum-retry=N), the Api's argument validation, the settings file, the privileged
 * helper's job check and the renderer's retries control all take it from here.
 */
export const MIN_RETRIES = 0;
export const MAX_RETRIES = 10;

/** True for a whole number of retries within MIN_RETRIES..MAX_RETRIES. */
export function isRetryCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= MIN_RETRIES && value <= MAX_RETRIES;
}

/** Rounds any finite number to the nearest retry count within the limit (a hand-edited or typed value). */
export function clampRetries(value: number): number {
  return Math.min(MAX_RETRIES, Math.max(MIN_RETRIES, Math.round(value)));
}
