import { afterEach, describe, expect, it } from 'vitest';
import { reportIdentity } from '../../src/main/drives/report-identity';
import { buildSysfs, type FakeSysfs } from '../helpers/fake-sysfs';
import { mmcTree } from '../fixtures/sysfs/trees';

let fake: FakeSysfs | null = null;
afterEach(async () => {
  await fake?.remove();
  fake = null;
});

describe("a DEST's identity for its report", () => {
  it('an SD card in a native slot: model, serial, the CID and the slot, as the report carries them', async () => {
    fake = await buildSysfs(mmcTree);
    const id = await reportIdentity('/dev/mmcblk0', fake.root);
    expect(id).toMatchObject({ bus: 'mmc', model: 'SN32G', serial: '1a2b3c4d', serialScope: 'card', idSource: 'cid', slot: '/devices/platform/emmc2bus/fe340000.mmc', size: 62333952 * 512 });
    expect(id?.cid).toMatch(/^[0-9a-f]{32}$/);
    expect(id?.cardId).toBe(`cid-${id?.cid?.slice(0, 30)}`);
  });

  it('a regular file (or anything sysfs does not know) has none', async () => {
    fake = await buildSysfs(mmcTree);
    expect(await reportIdentity('/tmp/card.img', fake.root)).toBeNull();
  });
});
