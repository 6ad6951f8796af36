/**
 * The pin of a drive served by the privileged helper: which block device main listed and the user confirmed
 * (device number, size, disk sequence number, model and serial as sysfs gave them, a loop device's backing
 * file). Main makes it; the engine carries it in the job and sends it as the helper's open request; the
 * helper validates that request with this one schema and opens the device only while every fact still holds.
 */
import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { blockDeviceFacts, type BlockDeviceFacts } from '../../system/block-device';
import { EngineError } from '../errors';

const text = z.string().max(1024).nullable();

export const devicePinSchema = z
  .object({
    /** The device node, e.g. /dev/sdb. */
    path: z.string().regex(/^\/dev\/[A-Za-z0-9._/-]+$/, 'a device path under /dev').max(256),
    /** "verify" opens the device read-only. */
    mode: z.enum(['copy', 'verify']),
    rdev: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    size: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    diskseq: z.string().regex(/^\d{1,20}$/).nullable(),
    model: text,
    serial: text,
    backingFile: text,
  })
  .strict();

export type DevicePin = z.infer<typeof devicePinSchema>;

/**
 * The helper's open request (the first message after the helper proved itself). `handover`: hand the opened
 * drive's descriptor to the engine over the rendezvous' handover socket instead of serving its I/O.
 */
export const openRequestSchema = z.object({ type: z.literal('open'), pin: devicePinSchema, handover: z.boolean().optional() }).strict();
export type OpenRequest = z.infer<typeof openRequestSchema>;

/** The pin of the block device at `path` as it is now. Throws EngineError when it is no whole block device. */
export async function pinDevice(path: string, mode: 'copy' | 'verify'): Promise<DevicePin> {
  let rdev: number;
  try {
    const st = await stat(path);
    if (!st.isBlockDevice()) throw new EngineError('TARGET_INVALID', `${path} is not a block device`);
    rdev = st.rdev;
  } catch (err) {
    if (err instanceof EngineError) throw err;
    throw new EngineError('TARGET_NOT_FOUND', `${path} does not exist: check that the drive is still connected`);
  }
  const facts = await blockDeviceFacts(rdev);
  if (!facts) throw new EngineError('TARGET_INVALID', `${path} is a block device the kernel does not describe (no sysfs entry)`);
  if (facts.partition) throw new EngineError('TARGET_INVALID', `${path} is a partition, not a whole drive`);
  return devicePinSchema.parse({
    path,
    mode,
    rdev,
    size: facts.size,
    diskseq: facts.diskseq,
    model: facts.model,
    serial: facts.serial,
    backingFile: facts.backingFile,
  });
}

/**
 * What differs between the pin and the device as it is now (device number `rdev`, facts from sysfs), in
 * words; null when it is still the pinned drive. Model, serial and sequence number count only where the
 * pin knew them.
 */
export function pinDifference(pin: DevicePin, rdev: number, facts: BlockDeviceFacts): string | null {
  const same = (label: string, pinned: string | number | null, now: string | number | null): string | null =>
    pinned === null || pinned === now ? null : `its ${label} is ${now === null ? 'unknown' : JSON.stringify(now)}, not ${JSON.stringify(pinned)}`;
  if (rdev !== pin.rdev) return `its device number is ${rdev}, not ${pin.rdev}`;
  return (
    (facts.partition ? 'it is a partition' : null) ??
    same('size', pin.size, facts.size) ??
    same('disk sequence number (another medium was attached)', pin.diskseq, facts.diskseq) ??
    same('model', pin.model, facts.model) ??
    same('serial', pin.serial, facts.serial) ??
    same('backing file', pin.backingFile, facts.backingFile)
  );
}
