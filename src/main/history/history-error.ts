import type { ErrorCode } from '../../shared/errors';

/** The history database could not be opened, read or written (HISTORY_UNAVAILABLE), or was asked wrongly. */
export class HistoryError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HistoryError';
  }
}
