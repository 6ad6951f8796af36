import { describe, expect, it } from 'vitest';
import { fingerprintCard } from '../../src/main/drives/card-identity';
import { PROBE_MARKER_MAGIC } from '../../src/shared/probe-marker';

const MiB = 1024 * 1024;
const reader = (card: Buffer) => async (offset: number, length: number) => card.subarray(offset, offset + length);
const marker = (nonce: number): Buffer => {
  const block = Buffer.alloc(4096, nonce);
  block.write(PROBE_MARKER_MAGIC, 0, 'latin1');
  return block;
};

describe('the content fingerprint', () => {
  it('leaves capacity-probe markers out, so a card is the same card after another flash with new markers', async () => {
    const size = 8 * MiB;
    const a = Buffer.alloc(size, 0);
    a.fill(7, 0, 512 * 1024);
    const b = Buffer.from(a);
    marker(1).copy(a, size - 4096);
    marker(2).copy(b, size - 4096);
    marker(3).copy(b, size - 64 * 1024);
    expect(await fingerprintCard(reader(a), size)).toBe(await fingerprintCard(reader(b), size));
  });

  it('still tells content apart: a changed byte in the first or last MiB changes it', async () => {
    const size = 8 * MiB;
    const a = Buffer.alloc(size, 0);
    const b = Buffer.from(a);
    b[size - 10] = 1;
    const c = Buffer.from(a);
    c[100] = 1;
    const fa = await fingerprintCard(reader(a), size);
    expect(await fingerprintCard(reader(b), size)).not.toBe(fa);
    expect(await fingerprintCard(reader(c), size)).not.toBe(fa);
    // Not a marker: the header alone, off the 4 KiB grid, counts as content.
    const d = Buffer.from(a);
    d.write(PROBE_MARKER_MAGIC, size - 4096 + 100, 'latin1');
    expect(await fingerprintCard(reader(d), size)).not.toBe(fa);
  });
});
