import type { ErrorCode } from '../../shared/errors';

/** An error as it crosses a thread or process boundary. */
export interface SerializedError {
  kind: 'engine' | 'internal';
  code: ErrorCode;
  message: string;
}

/** An expected failure with a code and a message that names what is wrong. */
export class EngineError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

/** Turns anything thrown into the protocol's error shape; unknown errors become INTERNAL. */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof EngineError) return { kind: 'engine', code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'internal', code: 'INTERNAL', message };
}
