/**
 * Result envelope that crosses every process boundary (IPC, WebSocket, worker):
 * never a thrown error, always a value or a coded error a user can act on.
 */
import type { ErrorCode } from './errors';

export interface ApiError {
  code: ErrorCode;
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (code: ErrorCode, message: string): Result<never> => ({ ok: false, error: { code, message } });
