import { describe, expect, it } from 'vitest';
import { cardIdOf, crc7, decodeCid, serialScopeOf, type SerialScopeFacts } from '../../src/shared/card-identity';

/** Builds an SD CID from its fields, with or without the CRC byte (SDHCI hosts drop it). */
function sdCid(fields: { mid: number; oid: string; pnm: string; prv: number; psn: number; year: number; month: number }, withCrc: boolean): string {
  const bytes = [fields.mid, ...Buffer.from(fields.oid, 'ascii'), ...Buffer.from(fields.pnm, 'ascii'), fields.prv];
  bytes.push((fields.psn >>> 24) & 0xff, (fields.psn >>> 16) & 0xff, (fields.psn >>> 8) & 0xff, fields.psn & 0xff);
  const y = fields.year - 2000;
  bytes.push(y >> 4, ((y & 0x0f) << 4) | fields.month);
  bytes.push(withCrc ? (crc7(bytes) << 1) | 1 : 0);
  return Buffer.from(bytes).toString('hex');
}

describe('crc7', () => {
  it('matches the SD spec examples (CMD0 arg 0 → 0x4A, CMD17 arg 0 → 0x2A, response of CMD17 → 0x33)', () => {
    expect(crc7([0x40, 0, 0, 0, 0])).toBe(0x4a);
    expect(crc7([0x51, 0, 0, 0, 0])).toBe(0x2a);
    expect(crc7([0x11, 0, 0, 0x09, 0])).toBe(0x33);
  });
});

describe('decodeCid (SD layout)', () => {
  const fields = { mid: 0x03, oid: 'SD', pnm: 'SN32G', prv: 0x80, psn: 0x1a2b3c4d, year: 2021, month: 4 };

  it('decodes every field of a CID with its CRC and checks the CRC', () => {
    const cid = decodeCid(sdCid(fields, true));
    expect(cid).toMatchObject({
      layout: 'SD',
      manufacturerId: 3,
      oemId: 'SD',
      productName: 'SN32G',
      revision: '8.0',
      serial: '1a2b3c4d',
      manufactured: '2021-04',
      crcOk: true,
    });
  });

  it('says the CRC is unknown when the host dropped it (last byte 00), and wrong when a bit flipped', () => {
    expect(decodeCid(sdCid(fields, false))?.crcOk).toBeNull();
    const good = sdCid(fields, true);
    const flipped = `${good.slice(0, 20)}${(Number.parseInt(good.slice(20, 22), 16) ^ 1).toString(16).padStart(2, '0')}${good.slice(22)}`;
    expect(decodeCid(flipped)?.crcOk).toBe(false);
  });

  it('reads the date bits at their boundaries: 2000-01 and 2255-12', () => {
    expect(decodeCid(sdCid({ ...fields, year: 2000, month: 1 }, true))?.manufactured).toBe('2000-01');
    expect(decodeCid(sdCid({ ...fields, year: 2255, month: 12 }, true))?.manufactured).toBe('2255-12');
    // Month 0 is not a month: no date rather than a wrong one.
    expect(decodeCid(sdCid({ ...fields, month: 0 }, true))?.manufactured).toBeNull();
  });

  it('takes the kernel’s text (uppercase, trailing newline) and refuses anything that is not 32 hex digits', () => {
    expect(decodeCid(`${sdCid(fields, true).toUpperCase()}\n`)?.productName).toBe('SN32G');
    expect(decodeCid('0353')).toBeNull();
    expect(decodeCid('z'.repeat(32))).toBeNull();
  });
});

describe('decodeCid (MMC layout)', () => {
  it('reads the six-character name, revision and serial at the MMC offsets and leaves the date to the kernel', () => {
    // MID 0x15 (Samsung), CBX 01, OID 0x00, PNM "8GTF4R", PRV 0x42, PSN 0xdeadbeef, MDT 0x7a, CRC dropped.
    const raw = '150100' + Buffer.from('8GTF4R').toString('hex') + '42' + 'deadbeef' + '7a' + '00';
    expect(decodeCid(raw, 'MMC')).toMatchObject({
      layout: 'MMC',
      manufacturerId: 0x15,
      oemId: '0x00',
      productName: '8GTF4R',
      revision: '4.2',
      serial: 'deadbeef',
      manufactured: null,
      crcOk: null,
    });
  });
});

describe('serialScopeOf', () => {
  const usb = (over: Partial<SerialScopeFacts>): SerialScopeFacts => ({
    bus: 'usb',
    removable: true,
    lunCount: 1,
    knownReaderId: false,
    names: [],
    ...over,
  });

  it('native slots and disks: the serial is the card’s or the disk’s own', () => {
    for (const bus of ['mmc', 'sata', 'nvme', 'virtio', 'scsi'] as const) expect(serialScopeOf({ ...usb({}), bus }).scope).toBe('card');
    for (const bus of ['loop', 'virtual', 'unknown'] as const) expect(serialScopeOf({ ...usb({}), bus }).scope).toBe('unknown');
  });

  it('USB: each reader sign alone makes it a reader; the LUN count is the first reason given', () => {
    expect(serialScopeOf(usb({ lunCount: 2 }))).toEqual({ scope: 'reader', reason: expect.stringContaining('2 LUNs') });
    expect(serialScopeOf(usb({ knownReaderId: true })).scope).toBe('reader');
    for (const name of ['USB3.0 Card Reader', 'SD/MMC', 'USB3.0 CRW   -SD', 'SDDR-B531', 'STORAGE DEVICE', 'MicroSD Reader', 'Multi-Card']) {
      expect(serialScopeOf(usb({ names: [name] })).scope, name).toBe('reader');
    }
    // A reader sign wins over a stick sign and over a fixed-media flag.
    expect(serialScopeOf(usb({ names: ['Cruzer Blade', 'SD Card Reader'], removable: false })).scope).toBe('reader');
  });

  it('USB: a fixed disk or a stick-like name is the medium itself; removable media with no sign stays unknown', () => {
    expect(serialScopeOf(usb({ removable: false, names: ['Portable'] })).scope).toBe('card');
    expect(serialScopeOf(usb({ names: [null, 'Cruzer Blade'] })).scope).toBe('card');
    expect(serialScopeOf(usb({ names: ['DataTraveler 3.0'] })).scope).toBe('card');
    expect(serialScopeOf(usb({ names: ['Mass Storage', 'Generic'] }))).toEqual({ scope: 'unknown', reason: expect.stringContaining('cannot tell') });
    // "STORAGE DEVICE" is a reader's name only as the whole model string.
    expect(serialScopeOf(usb({ names: ['Mass Storage Device'] })).scope).toBe('unknown');
  });
});

describe('cardIdOf', () => {
  const cid = decodeCid('035344534e33324780' + '1a2b3c4d' + '0154' + '7f');
  const base = { cid: null, serial: null, serialScope: 'unknown' as const, vendor: null, model: null, fingerprint: null, sizeBytes: null };

  it('prefers the CID (without its CRC byte), then a card-scoped serial, then fingerprint + size', () => {
    const fingerprint = 'ab'.repeat(32);
    expect(cardIdOf({ ...base, cid, serial: 'x', serialScope: 'card', fingerprint, sizeBytes: 1 })).toEqual({
      cardId: 'cid-035344534e333247801a2b3c4d0154',
      idSource: 'cid',
    });
    expect(cardIdOf({ ...base, serial: ' 4C53 ', serialScope: 'card', vendor: 'SanDisk ', model: 'Cruzer Blade', fingerprint, sizeBytes: 1 })).toEqual({
      cardId: 'sn-sandisk-cruzer_blade-4c53',
      idSource: 'serial',
    });
    expect(cardIdOf({ ...base, fingerprint, sizeBytes: 4096 })).toEqual({ cardId: `fp-4096-${'ab'.repeat(8)}`, idSource: 'fingerprint' });
  });

  it('never takes a reader’s or an unknown serial for the card', () => {
    expect(cardIdOf({ ...base, serial: '000000001536', serialScope: 'reader' })).toEqual({ cardId: null, idSource: 'none' });
    expect(cardIdOf({ ...base, serial: '000000001536', serialScope: 'unknown' })).toEqual({ cardId: null, idSource: 'none' });
  });

  it('the same card gives the same id whether or not the host kept the CRC byte', () => {
    const withCrc = decodeCid('035344534e33324780' + '1a2b3c4d' + '0154' + '7f');
    const without = decodeCid('035344534e33324780' + '1a2b3c4d' + '0154' + '00');
    expect(cardIdOf({ ...base, cid: withCrc }).cardId).toBe(cardIdOf({ ...base, cid: without }).cardId);
  });
});
