import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { fingerprintCard, identifyCard } from '../../src/main/drives/card-identity';
import { DriveError } from '../../src/main/drives/drive-error';
import { buildSysfs, type FakeSysfs } from '../helpers/fake-sysfs';
import {
  SD_CID,
  loopTree,
  mmcTree,
  nvmeTree,
  sataTree,
  stickPartitionTree,
  twoSlotReader,
  usbDevicePath,
  usbStick,
  usbTree,
  vdaTree,
  zramTree,
  type UsbDevice,
} from '../fixtures/sysfs/trees';

let fake: FakeSysfs | null = null;
afterEach(async () => {
  await fake?.remove();
  fake = null;
});

async function sysfs(...trees: Parameters<typeof buildSysfs>): Promise<string> {
  fake = await buildSysfs(...trees);
  return fake.root;
}

/** A card of `size` bytes whose byte i is (i * 7 + seed) & 0xff, readable through a CardReader. */
function fakeCard(size: number, seed = 0): { read: (o: number, l: number) => Promise<Buffer>; bytes: (o: number, l: number) => Buffer; reads: [number, number][] } {
  const bytes = (offset: number, length: number): Buffer => {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i += 1) out[i] = ((offset + i) * 7 + seed) & 0xff;
    return out;
  };
  const reads: [number, number][] = [];
  return { bytes, reads, read: async (offset, length) => { reads.push([offset, length]); return bytes(offset, length); } };
}

describe('identifyCard on layouts copied from this machine', () => {
  it('vda: a virtio disk, its serial the disk’s own, slot the virtio function', async () => {
    const root = await sysfs(vdaTree);
    const id = await identifyCard('254:0', { sysRoot: root });
    expect(id).toMatchObject({
      device: '/dev/vda',
      name: 'vda',
      devNumber: '254:0',
      bus: 'virtio',
      vendor: '0x1af4',
      serial: 'overlayblk',
      serialScope: 'card',
      sizeBytes: 536870912 * 512,
      removable: false,
      readOnly: false,
      cid: null,
      usb: null,
      location: {
        sysfsPath: '/devices/pci0000:00/0000:00:02.0/virtio1/block/vda',
        slot: '/devices/pci0000:00/0000:00:02.0/virtio1',
        lun: null,
      },
      cardId: 'sn-0x1af4-none-overlayblk',
      idSource: 'serial',
    });
  });

  it('zram0: virtual, no size, no serial, no slot, no id without a fingerprint', async () => {
    const root = await sysfs(zramTree);
    const id = await identifyCard('/dev/zram0', { sysRoot: root });
    expect(id).toMatchObject({ bus: 'virtual', sizeBytes: null, serial: null, serialScope: 'unknown', cardId: null, idSource: 'none' });
    expect(id.location.slot).toBeNull();
  });

  it('loop0: bus loop, the backing file, its own devpath as the slot, and a fingerprint id from the reader', async () => {
    const root = await sysfs(loopTree);
    const size = 131072 * 512;
    const card = fakeCard(size);
    const id = await identifyCard({ major: 7, minor: 0 }, { sysRoot: root, read: card.read });
    const expected = createHash('sha256').update(card.bytes(0, 1 << 20)).update(card.bytes(size - (1 << 20), 1 << 20)).digest('hex');
    expect(id).toMatchObject({
      bus: 'loop',
      backingFile: '/srv/cards/card.img',
      sizeBytes: size,
      fingerprint: expected,
      cardId: `fp-${size}-${expected.slice(0, 16)}`,
      idSource: 'fingerprint',
      location: { slot: '/devices/virtual/block/loop0' },
    });
    expect(card.reads).toEqual([[0, 1 << 20], [size - (1 << 20), 1 << 20]]);
  });

  it('a detached loop device has no size and no fingerprint (nothing is read)', async () => {
    const root = await sysfs(loopTree);
    const card = fakeCard(0);
    const id = await identifyCard('7:1', { sysRoot: root, read: card.read });
    expect(id).toMatchObject({ name: 'loop1', bus: 'loop', sizeBytes: null, backingFile: null, fingerprint: null, cardId: null });
    expect(card.reads).toEqual([]);
  });
});

describe('identifyCard on hand-made layouts', () => {
  it('an SD card in a native slot: the CID decoded, the card’s serial, the controller as slot', async () => {
    const root = await sysfs(mmcTree);
    const id = await identifyCard('/dev/mmcblk0', { sysRoot: root });
    expect(id).toMatchObject({
      bus: 'mmc',
      model: 'SN32G',
      serial: '1a2b3c4d',
      serialScope: 'card',
      sizeBytes: 62333952 * 512,
      cid: { raw: SD_CID, layout: 'SD', manufacturerId: 3, oemId: 'SD', revision: '8.0', manufactured: '2021-04', crcOk: null },
      location: { slot: '/devices/platform/emmc2bus/fe340000.mmc', lun: null },
      cardId: `cid-${SD_CID.slice(0, 30)}`,
      idSource: 'cid',
    });
  });

  it('the CID decoding agrees with the kernel’s own decoded attributes in the same tree', async () => {
    const root = await sysfs(mmcTree);
    const { cid } = await identifyCard('179:0', { sysRoot: root });
    const kernel = mmcTree as Record<string, unknown>;
    const card = 'devices/platform/emmc2bus/fe340000.mmc/mmc_host/mmc0/mmc0:aaaa';
    expect(`0x${cid!.manufacturerId.toString(16).padStart(6, '0')}`).toBe(kernel[`${card}/manfid`]);
    expect(`0x${Buffer.from(cid!.oemId).toString('hex')}`).toBe(kernel[`${card}/oemid`]);
    expect(cid!.productName).toBe(kernel[`${card}/name`]);
    expect(`0x${cid!.serial}`).toBe(kernel[`${card}/serial`]);
    const [month, year] = String(kernel[`${card}/date`]).split('/');
    expect(cid!.manufactured).toBe(`${year}-${month}`);
  });

  it('a partition resolves to its card', async () => {
    const root = await sysfs(mmcTree);
    expect((await identifyCard('/dev/mmcblk0p1', { sysRoot: root })).name).toBe('mmcblk0');
  });

  it('a card in a two-slot USB reader: the serial is the reader’s, the card has no serial id, slot = USB port + LUN', async () => {
    const root = await sysfs(usbTree(twoSlotReader));
    const card = fakeCard(62333952 * 512, 5);
    const id = await identifyCard('/dev/sdc', { sysRoot: root, read: card.read });
    expect(id).toMatchObject({
      bus: 'usb',
      vendor: 'Generic',
      model: 'STORAGE DEVICE',
      serial: '000000001536',
      serialScope: 'reader',
      removable: true,
      usb: { vendorId: '05e3', productId: '0749', manufacturer: 'Generic', product: 'USB3.0 Card Reader', serial: '000000001536', interfaceClass: '08/06/50' },
      location: { slot: '/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1.3', lun: 1 },
      idSource: 'fingerprint',
    });
    expect(id.serialScopeReason).toContain('2 LUNs');
    expect(id.cardId).not.toContain('1536');
  });

  it('a one-slot reader with unknown ids is still recognised by its name; the empty slot has no size', async () => {
    const oneSlot: UsbDevice = {
      ...twoSlotReader,
      idVendor: 'abcd',
      idProduct: '1234',
      product: 'USB Storage',
      drives: [{ ...twoSlotReader.drives[0]!, model: 'SD/MMC          ' }],
    };
    const root = await sysfs(usbTree(oneSlot));
    const id = await identifyCard('/dev/sdb', { sysRoot: root });
    expect(id).toMatchObject({ serialScope: 'reader', sizeBytes: null, cardId: null, idSource: 'none' });
    expect(id.serialScopeReason).toContain('SD/MMC');
  });

  it('a USB stick: the serial is its own and names it; its partition resolves to the stick', async () => {
    const root = await sysfs(usbTree(usbStick), stickPartitionTree());
    const id = await identifyCard('/dev/sdd1', { sysRoot: root });
    expect(id).toMatchObject({
      name: 'sdd',
      vendor: 'SanDisk',
      model: 'Cruzer Blade',
      serial: '4C530001130508108204',
      serialScope: 'card',
      location: { slot: `/${usbDevicePath('1-2')}`, lun: 0 },
      cardId: 'sn-sandisk-cruzer_blade-4c530001130508108204',
      idSource: 'serial',
    });
  });

  it('an unnamed USB stick with the removable bit: scope unknown, so its serial is not used as the card id', async () => {
    const anonymous: UsbDevice = {
      ...usbStick,
      idVendor: '1234',
      idProduct: '5678',
      manufacturer: 'USB',
      product: 'Mass Storage',
      drives: [{ ...usbStick.drives[0]!, vendor: 'USB     ', model: 'Mass Storage    ' }],
    };
    const root = await sysfs(usbTree(anonymous));
    const id = await identifyCard('/dev/sdd', { sysRoot: root });
    expect(id).toMatchObject({ serial: usbStick.serial, serialScope: 'unknown', cardId: null, idSource: 'none' });
  });

  it('a SATA disk: serial from VPD page 0x80, slot the ATA port', async () => {
    const root = await sysfs(sataTree);
    const id = await identifyCard('/dev/sda', { sysRoot: root });
    expect(id).toMatchObject({
      bus: 'sata',
      vendor: 'ATA',
      model: 'Samsung SSD 860',
      serial: 'S3Z9NB0K123456A',
      serialScope: 'card',
      location: { slot: '/devices/pci0000:00/0000:00:17.0/ata1', lun: 0 },
      idSource: 'serial',
    });
  });

  it('an NVMe namespace: model and serial from the controller, slot the PCI function', async () => {
    const root = await sysfs(nvmeTree);
    const id = await identifyCard('/dev/nvme0n1', { sysRoot: root });
    expect(id).toMatchObject({
      bus: 'nvme',
      model: 'Samsung SSD 970 EVO Plus 1TB',
      serial: 'S4EWNX0R123456',
      location: { slot: '/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0' },
      idSource: 'serial',
    });
  });

  it('an unknown device is TARGET_NOT_FOUND, naming it', async () => {
    const root = await sysfs(vdaTree);
    const failure = identifyCard('/dev/sdz', { sysRoot: root });
    await expect(failure).rejects.toBeInstanceOf(DriveError);
    await expect(failure).rejects.toMatchObject({ code: 'TARGET_NOT_FOUND', message: expect.stringContaining('/dev/sdz') });
  });

  it('a path that is not a block device is TARGET_INVALID', async () => {
    const root = await sysfs(vdaTree);
    await expect(identifyCard(`${root}/block/vda/size`, { sysRoot: root })).rejects.toMatchObject({ code: 'TARGET_INVALID' });
  });
});

describe('fingerprintCard', () => {
  it('reads the whole card once when it is 2 MiB or less, first and last MiB above', async () => {
    const small = fakeCard(2 << 20);
    await fingerprintCard(small.read, 2 << 20);
    expect(small.reads).toEqual([[0, 2 << 20]]);
    const big = fakeCard((2 << 20) + 512);
    await fingerprintCard(big.read, (2 << 20) + 512);
    expect(big.reads).toEqual([[0, 1 << 20], [(1 << 20) + 512, 1 << 20]]);
  });

  it('differs when the last MiB differs, and fails (DEVICE_LOST) on a short read', async () => {
    const size = 4 << 20;
    const a = fakeCard(size, 0);
    const b = fakeCard(size, 0);
    const changed = async (o: number, l: number): Promise<Buffer> => {
      const data = await b.read(o, l);
      if (o > 0) data.writeUInt8(data.readUInt8(l - 1) ^ 1, l - 1);
      return data;
    };
    expect(await fingerprintCard(a.read, size)).not.toBe(await fingerprintCard(changed, size));
    await expect(fingerprintCard(async () => Buffer.alloc(10), size)).rejects.toMatchObject({ code: 'DEVICE_LOST' });
  });
});
