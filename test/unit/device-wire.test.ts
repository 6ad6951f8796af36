import { describe, expect, it } from 'vitest';
import type { DeviceOp } from '../../src/main/engine/device/device-protocol';
import {
  BATCH,
  BUFFER_BYTES,
  CONTROL,
  FRAME_HEADER,
  FrameReader,
  MAX_BATCH_BYTES,
  WireError,
  bufferPlaces,
  controlFrame,
  decodeBatch,
  decodeResult,
  encodeBatch,
  encodeResult,
  frameHeader,
  parseControl,
} from '../../src/main/engine/device/device-wire';
import { splitBatch } from '../../src/main/engine/device/remote-target';

const MiB = 1024 * 1024;

/** A reader that accepts control frames up to `meta` bytes and records what it got. */
function recorder(meta = 4096) {
  const frames: { kind: number; meta: Buffer }[] = [];
  let placed = 0;
  const reader = new FrameReader({
    limits: (kind) => (kind === CONTROL || kind === BATCH ? { meta, data: 0 } : null),
    place: () => {
      placed++;
      return [];
    },
    frame: (kind, m) => frames.push({ kind, meta: Buffer.from(m) }),
  });
  return { reader, frames, placed: () => placed };
}

describe('the wire between the engine and the helper', () => {
  it('reads the same frames however the bytes are cut, each byte once', () => {
    const stream = Buffer.concat([controlFrame({ type: 'auth', token: 'a'.repeat(64) }), controlFrame({ type: 'close' }), frameHeader(BATCH, 16, 0), encodeBatch(7, 0, [])]);
    for (const cut of [1, 5, 12, 13, 100, stream.length]) {
      const { reader, frames } = recorder();
      for (let at = 0; at < stream.length; at += cut) reader.feed(stream.subarray(at, at + cut));
      expect(frames.map((f) => f.kind)).toEqual([CONTROL, CONTROL, BATCH]);
      expect(parseControl(frames[1]!.meta)).toEqual({ type: 'close' });
      expect(decodeBatch(frames[2]!.meta)).toEqual({ id: 7, base: 0, ops: [] });
    }
  });

  it('refuses an oversized frame from its header alone, before buffering any of it, and stays refused', () => {
    const { reader, placed } = recorder(4096);
    expect(() => reader.feed(frameHeader(CONTROL, 1024 * 1024, 0))).toThrow(/a message of 1048576 bytes is too long \(at most 4096 here\)/);
    expect(placed()).toBe(0);
    expect(() => reader.feed(controlFrame({ type: 'close' }))).toThrow(WireError);
    const unexpected = recorder();
    expect(() => unexpected.reader.feed(frameHeader(3, 8, 0))).toThrow(/a frame of kind 3 is not expected now/);
    const data = recorder();
    expect(() => data.reader.feed(frameHeader(CONTROL, 10, 1))).toThrow(/too long/);
    expect(FRAME_HEADER).toBe(12);
  });

  it('carries a batch and its result, with each op’s place in the transfer buffer', () => {
    const ops: DeviceOp[] = [
      { op: 'write', offset: 4096, length: 8192, at: 0 },
      { op: 'flush' },
      { op: 'read', offset: 2 ** 40, length: 512, at: 8192 },
    ];
    const decoded = decodeBatch(encodeBatch(3, 1000, ops));
    expect(decoded).toEqual({ id: 3, base: 1000, ops: [{ op: 'write', offset: 4096, length: 8192 }, { op: 'flush' }, { op: 'read', offset: 2 ** 40, length: 512 }] });
    expect(bufferPlaces(1000, decoded.ops)).toEqual([1000, null, 9192]);
    const result = { reads: [512], error: { index: 2, code: 'EIO', message: 'Input/output error' } };
    expect(decodeResult(encodeResult(3, result))).toEqual({ id: 3, result });
  });

  it('refuses batches that do not add up', () => {
    const meta = encodeBatch(1, 0, [{ op: 'write', offset: 0, length: 4096, at: 0 }]);
    expect(() => decodeBatch(meta.subarray(0, meta.length - 1))).toThrow(/does not match its length/);
    const badKind = Buffer.from(meta);
    badKind.writeUInt32LE(9, 16);
    expect(() => decodeBatch(badKind)).toThrow(/unknown kind 9/);
    expect(() => decodeBatch(encodeBatch(1, BUFFER_BYTES - 100, [{ op: 'read', offset: 0, length: 4096, at: 0 }]))).toThrow(/does not fit the transfer buffer/);
    const zero = Buffer.from(meta);
    zero.writeBigUInt64LE(0n, 16 + 12);
    expect(() => decodeBatch(zero)).toThrow(/has a length of 0/);
  });

  it('cuts a batch bigger than the helper takes into parts it takes whole, in order', () => {
    const ops: DeviceOp[] = Array.from({ length: 5 }, (_, i) => ({ op: 'write' as const, offset: i * 10 * MiB, length: 10 * MiB, at: 0 }));
    const parts = splitBatch([...ops, { op: 'flush' }]);
    expect(parts.map((p) => p.length)).toEqual([3, 3]);
    expect(parts.flat()).toEqual([...ops, { op: 'flush' }]);
    for (const p of parts) expect(p.reduce((n, op) => n + (op.op === 'write' ? op.length : 0), 0)).toBeLessThanOrEqual(MAX_BATCH_BYTES);
  });
});
