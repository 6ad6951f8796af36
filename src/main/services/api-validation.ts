/**
 * Argument schemas for every Api invoke method. Whatever arrives from a renderer (Electron ipc or the
 * browser host's WebSocket) is untrusted: it is parsed here before any service sees it.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { EngineError } from '../engine/errors';

/** Longest path accepted from a renderer (Linux PATH_MAX). */
export const MAX_PATH_LENGTH = 4096;
/** Longest device, job id or warning code accepted from a renderer. */
export const MAX_NAME_LENGTH = 256;
/** Most warning codes a renderer may acknowledge in one request. */
export const MAX_ACKNOWLEDGED = 32;
export const MAX_RETRIES = 10;

const boundedString = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !value.includes('\0'), 'must not contain NUL characters');

export const absolutePathSchema = boundedString(MAX_PATH_LENGTH).refine((value) => isAbsolute(value), 'must be an absolute path');
export const nameSchema = boundedString(MAX_NAME_LENGTH);
export const retriesSchema = z.int('must be a whole number').min(0, 'must be at least 0').max(MAX_RETRIES, `must be at most ${MAX_RETRIES}`);

export const settingsPatchSchema = z.strictObject({
  readback: z.boolean().optional(),
  retries: retriesSchema.optional(),
  eject: z.boolean().optional(),
  notifications: z.boolean().optional(),
});

export const flashRequestSchema = z.strictObject({
  imagePath: absolutePathSchema,
  bmapPath: absolutePathSchema.nullable().optional(),
  device: nameSchema,
  readback: z.boolean(),
  retries: retriesSchema,
  acknowledged: z.array(nameSchema).max(MAX_ACKNOWLEDGED, `must list at most ${MAX_ACKNOWLEDGED} warnings`),
});

/** Parses `value` or throws a USAGE EngineError naming the argument and what is wrong with it. */
export function parseArg<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${what}.${issue.path.join('.')}` : what;
  throw new EngineError('USAGE', `Invalid ${where}: ${issue?.message ?? 'not accepted'}`);
}

/** Re-checks in main that a path a renderer named is an existing regular file. */
export async function requireFile(path: string, notFound: 'IMAGE_NOT_FOUND' | 'BMAP_NOT_FOUND' = 'IMAGE_NOT_FOUND'): Promise<void> {
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
  } catch {
    throw new EngineError(notFound, `${path} does not exist or cannot be read`);
  }
  if (!isFile) throw new EngineError(notFound, `${path} is not a file`);
}
