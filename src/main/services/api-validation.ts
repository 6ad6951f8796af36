/**
 * Argument schemas for every Api invoke method. Whatever arrives from a renderer (Electron ipc or the
 * browser host's WebSocket) is untrusted: it is parsed here before any service sees it. API_ARGS names
 * every argument of every method, so the api core cannot run a method without parsing its arguments.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { MAX_STATION_CARDS, MAX_STATION_SLOTS, MAX_TARGETS, type Api, type ApiInvokeMethod } from '../../shared/api';
import { MAX_RETRIES, MIN_RETRIES } from '../../shared/retry-limit';
import { EngineError } from '../engine/errors';

/** Longest path accepted from a renderer (Linux PATH_MAX). */
export const MAX_PATH_LENGTH = 4096;
/** Longest device, job id or warning code accepted from a renderer. */
export const MAX_NAME_LENGTH = 256;
/** Most warning codes a renderer may acknowledge in one request. */
export const MAX_ACKNOWLEDGED = 32;

const boundedString = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !value.includes('\0'), 'must not contain NUL characters');

export const absolutePathSchema = boundedString(MAX_PATH_LENGTH).refine((value) => isAbsolute(value), 'must be an absolute path');

/** True for an http(s) URL that parses. */
function isWebUrl(value: string): boolean {
  if (!/^https?:\/\//i.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/** An image or bmap: an absolute path, or an http(s) URL (downloaded by the engine). */
export const imageLocationSchema = boundedString(MAX_PATH_LENGTH).refine(
  (value) => isWebUrl(value) || (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && isAbsolute(value)),
  'must be an absolute path or an http(s) URL',
);

/** True when a validated image location is a URL (no file to check in main). */
export const isImageUrl = (value: string): boolean => isWebUrl(value);
export const nameSchema = boundedString(MAX_NAME_LENGTH);
export const retriesSchema = z.int('must be a whole number').min(MIN_RETRIES, `must be at least ${MIN_RETRIES}`).max(MAX_RETRIES, `must be at most ${MAX_RETRIES}`);

export const settingsPatchSchema = z.strictObject({
  readback: z.boolean().optional(),
  retries: retriesSchema.optional(),
  skipIdentical: z.boolean().optional(),
  probe: z.boolean().optional(),
  eject: z.boolean().optional(),
  notifications: z.boolean().optional(),
  theme: z.enum(['system', 'light', 'dark']).optional(),
  cacheLimitBytes: z.int('must be a whole number of bytes').min(0, 'must be at least 0').max(1024 ** 4, 'must be at most 1 TiB').optional(),
});

export const flashRequestSchema = z.strictObject({
  imagePath: imageLocationSchema,
  bmapPath: imageLocationSchema.nullable().optional(),
  mode: z.enum(['copy', 'verify']).optional(),
  devices: z
    .array(nameSchema)
    .min(1, 'must name at least one drive')
    .max(MAX_TARGETS, `must name at most ${MAX_TARGETS} drives`)
    .refine((list) => new Set(list).size === list.length, 'must not name a drive twice'),
  readback: z.boolean(),
  retries: retriesSchema,
  skipIdentical: z.boolean().optional(),
  probe: z.boolean().optional(),
  acknowledged: z.array(nameSchema).max(MAX_ACKNOWLEDGED, `must list at most ${MAX_ACKNOWLEDGED} warnings`),
});

/** A card id as the history lists it (hex digits and a source prefix), or the start of one. */
export const cardIdSchema = boundedString(128).regex(/^[A-Za-z0-9:._-]+$/, 'must be a card id as the history lists it (letters, digits, ":", ".", "_", "-")');

/** A physical slot: a sysfs device path (or a prefix of one), e.g. /devices/pci0000:00/0000:00:14.0/usb2/2-1. */
export const slotSchema = boundedString(MAX_PATH_LENGTH).regex(/^\/devices\/[^\s]*$/, 'must be a sysfs device path starting with /devices/');

/** The station's arming request: a local image (a station re-reads it for every card), limits and checks. */
export const stationRequestSchema = z.strictObject({
  imagePath: absolutePathSchema,
  bmapPath: absolutePathSchema.nullable().optional(),
  retries: retriesSchema,
  skipIdentical: z.boolean(),
  readback: z.boolean(),
  probe: z.boolean(),
  maxCards: z.int('must be a whole number').min(1, 'must be at least 1').max(MAX_STATION_CARDS, `must be at most ${MAX_STATION_CARDS}`),
  slots: z
    .array(slotSchema)
    .max(MAX_STATION_SLOTS, `must list at most ${MAX_STATION_SLOTS} slots`)
    .refine((list) => new Set(list).size === list.length, 'must not name a slot twice'),
  maxSizeBytes: z.int('must be a whole number of bytes').min(1e6, 'must be at least 1 MB').max(1e15, 'must be at most 1 PB').nullable(),
});

/** One argument: its name (for the error message), its schema, and whether a caller may leave it out (last ones only). */
type ArgSpec = readonly [name: string, schema: z.ZodType] | readonly [name: string, schema: z.ZodType, optional: 'optional'];

/** The arguments of every Api invoke method, in order. A method missing here does not compile. */
export const API_ARGS = {
  listDrives: [],
  pickImage: [],
  probeImage: [['path', imageLocationSchema]],
  getSettings: [],
  setSettings: [['settings', settingsPatchSchema]],
  flash: [['request', flashRequestSchema]],
  cancel: [
    ['jobId', nameSchema],
    ['device', nameSchema, 'optional'],
  ],
  saveReport: [['jobId', nameSchema]],
  getAppInfo: [],
  answerConfirm: [
    ['id', nameSchema],
    ['accepted', z.boolean()],
  ],
  historyCards: [],
  cardHistory: [['cardId', cardIdSchema]],
  armStation: [['request', stationRequestSchema]],
  stopStation: [['cancel', z.boolean(), 'optional']],
  cancelStationCard: [['card', z.int('must be a whole number').min(1, 'must be at least 1').max(1e9, 'must be at most 1000000000')]],
  stationStatus: [],
} as const satisfies Record<ApiInvokeMethod, readonly ArgSpec[]>;

type ParsedSpecs<T extends readonly ArgSpec[]> = {
  -readonly [K in keyof T]: T[K] extends readonly [string, z.ZodType, 'optional'] ? z.output<T[K][1]> | undefined : T[K] extends ArgSpec ? z.output<T[K][1]> : never;
};
/** The parsed (trusted) arguments of method M. */
export type ParsedArgs<M extends ApiInvokeMethod> = ParsedSpecs<(typeof API_ARGS)[M]>;

/** Compile-time proof that each schema list parses into what the Api contract declares. */
type Assert<T extends true> = T;
export type ApiArgsMatchContract = Assert<{ [M in ApiInvokeMethod]: ParsedArgs<M> extends Parameters<Api[M]> ? true : false }[ApiInvokeMethod]>;

/** Parses the raw arguments of one call (count and each value) or throws a USAGE EngineError naming the first problem. */
export function parseArgs<M extends ApiInvokeMethod>(method: M, raw: readonly unknown[]): ParsedArgs<M> {
  const specs: readonly ArgSpec[] = API_ARGS[method];
  const required = specs.filter((spec) => spec[2] !== 'optional').length;
  if (raw.length < required || raw.length > specs.length) {
    const wanted = specs.length === 0 ? 'no arguments' : `${specs.length} argument${specs.length === 1 ? '' : 's'} (${specs.map(([name, , opt]) => (opt ? `${name}?` : name)).join(', ')})`;
    throw new EngineError('USAGE', `Invalid call: ${method} takes ${wanted}, got ${raw.length}.`);
  }
  return specs.map(([name, schema, optional], i) => (optional && (raw[i] === undefined || raw[i] === null) ? undefined : parseArg(schema, raw[i], name))) as ParsedArgs<M>;
}

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
  if (isWebUrl(path)) return; // checked by the engine when it downloads
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
  } catch {
    throw new EngineError(notFound, `${path} does not exist or cannot be read`);
  }
  if (!isFile) throw new EngineError(notFound, `${path} is not a file`);
}
