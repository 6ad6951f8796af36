import type { ErrorCode } from '../../shared/errors';

/** A drive operation that failed for a reason the user can act on (TARGET_MOUNTED, TARGET_BUSY, ...). */
export class DriveError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DriveError';
  }
}
