import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { identifyCard } from '../../src/main/drives/card-identity';
import { attachLoop, readDirect, type LoopDevice } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

describeRoot('card identity of a real loop device', () => {
  const size = 8 << 20;
  let dir = '';
  let file = '';
  let loop: LoopDevice;
  let content: Buffer;

  beforeAll(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'sureflash-identity-'));
    file = join(dir, 'card.img');
    content = randomBytes(size);
    await fsp.writeFile(file, content);
    loop = await attachLoop(file);
  });

  afterAll(async () => {
    await loop?.detach();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('reads size, bus, backing file and slot from the real /sys, and fingerprints the card through O_DIRECT reads', async () => {
    const id = await identifyCard(loop.device, { read: (offset, length) => readDirect(loop.device, offset, length) });
    const name = loop.device.replace('/dev/', '');
    const expected = createHash('sha256').update(content.subarray(0, 1 << 20)).update(content.subarray(size - (1 << 20))).digest('hex');
    expect(id).toMatchObject({
      device: loop.device,
      name,
      bus: 'loop',
      sizeBytes: size,
      backingFile: file,
      serial: null,
      serialScope: 'unknown',
      location: { sysfsPath: `/devices/virtual/block/${name}`, slot: `/devices/virtual/block/${name}`, lun: null },
      fingerprint: expected,
      cardId: `fp-${size}-${expected.slice(0, 16)}`,
      idSource: 'fingerprint',
    });
    // The same device by its numbers gives the same identity.
    const [major, minor] = id.devNumber.split(':').map(Number);
    expect((await identifyCard({ major: major!, minor: minor! })).location).toEqual(id.location);
  });
});
