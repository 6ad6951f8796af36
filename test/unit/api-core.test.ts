import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { API_INVOKE_METHODS, DEFAULT_SETTINGS, type DriveInfo, type FlashRequest, type ImageInfo, type Settings } from '../../src/shared/api';
import type { BatchReport } from '../../src/shared/report';
import { createApiCore, defaultReportName, NOT_WAITING_MESSAGE } from '../../src/main/services/api-core';
import { API_ARGS } from '../../src/main/services/api-validation';
import { EngineError } from '../../src/main/engine/errors';
import type { Dialogs, MainServices } from '../../src/main/services/types';
import { IDLE_STATION } from '../../src/main/services/station-api';
import type { StationRequest } from '../../src/shared/api';

const dir = mkdtempSync(join(tmpdir(), 'sureflash-api-core-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const image = join(dir, 'disk.img');
writeFileSync(image, Buffer.alloc(4096, 1));
const bmap = join(dir, 'disk.bmap');
writeFileSync(bmap, '<bmap/>');
const folder = join(dir, 'folder');
mkdirSync(folder);

const drive: DriveInfo = {
  device: '/dev/sdz', raw: '/dev/sdz', description: 'Card', size: 8e9, isSystem: false, isRemovable: true, isReadOnly: false,
  isVirtual: false, isCard: true, isUSB: true, isLoop: false, busType: 'USB', mountpoints: [],
};
const report = { kind: 'batch', status: 'verified', mode: 'copy', cards: [] } as unknown as BatchReport;

/** Records what reached the services, so each test can prove a bad argument stopped before them. */
function setup(dialogs: Partial<Dialogs> = {}) {
  const calls: { method: string; arg?: unknown }[] = [];
  let settings: Settings = { ...DEFAULT_SETTINGS };
  const services: MainServices = {
    app: { info: async () => ({ version: '0', platform: 'linux', dataDir: dir, reportsDir: null, logFile: null }) },
    drives: { list: async () => [drive], subscribe: () => () => undefined },
    images: {
      probe: async (path) => {
        calls.push({ method: 'probe', arg: path });
        if (path.endsWith('bad.img')) throw new Error('secret internal detail /root/x');
        return { path, name: 'disk.img', fileSize: 4096, compression: 'none', imageSize: 4096, bmap: null, diskSignature: 'mbr', warnings: [], source: 'file', signature: { status: 'unsigned' }, checksum: { kind: 'sha256', status: 'none' } } satisfies ImageInfo;
      },
    },
    settings: {
      get: async () => settings,
      set: async (patch) => {
        calls.push({ method: 'set', arg: patch });
        settings = { ...settings, ...patch };
        return settings;
      },
    },
    flash: {
      start: async (request) => {
        calls.push({ method: 'start', arg: request });
        if (request.devices[0] === '/dev/other') throw new EngineError('TARGET_NOT_ALLOWED', 'not listed');
        return { jobId: 'job-1' };
      },
      cancel: (jobId) => void calls.push({ method: 'cancel', arg: jobId }),
      report: (jobId) => (jobId === 'job-1' ? report : null),
      subscribe: () => () => undefined,
    },
    history: {
      cards: async () => [],
      card: async (cardId) => {
        calls.push({ method: 'history.card', arg: cardId });
        return null;
      },
    },
    station: {
      arm: async (request) => {
        calls.push({ method: 'station.arm', arg: request });
        return { ...IDLE_STATION, state: 'armed' };
      },
      stop: (cancel) => {
        calls.push({ method: 'station.stop', arg: cancel });
        return IDLE_STATION;
      },
      cancelCard: (card) => void calls.push({ method: 'station.cancelCard', arg: card }),
      status: () => IDLE_STATION,
      subscribe: () => () => undefined,
    },
  };
  const internal: unknown[] = [];
  const core = createApiCore(
    services,
    { pickImage: async () => null, saveReportPath: async () => null, ...dialogs },
    { onInternalError: (_m, err) => internal.push(err) },
  );
  return { core, calls, internal };
}

const request = (over: Partial<FlashRequest> = {}): FlashRequest => ({
  imagePath: image, devices: ['/dev/sdz'], readback: true, retries: 3, acknowledged: [], ...over,
});

describe('api core', () => {
  it('offers exactly the invoke methods of the Api', () => {
    expect(Object.keys(setup().core).sort()).toEqual([...API_INVOKE_METHODS].sort());
  });

  it.each(API_INVOKE_METHODS.map((method) => [method]))('%s: refuses a wrong argument count or type before any service runs', async (method) => {
    const { core, calls } = setup();
    const count = API_ARGS[method].length;
    const tooMany = await core[method](...Array(count + 1).fill('x'));
    expect(tooMany).toMatchObject({ ok: false, error: { code: 'USAGE', message: expect.stringMatching(new RegExp(`^Invalid call: ${method} takes`)) } });
    if (count > 0) {
      // A symbol is no JSON value and no schema accepts it.
      const wrongType = await core[method](...Array(count).fill(Symbol('x')));
      expect(wrongType).toMatchObject({ ok: false, error: { code: 'USAGE', message: expect.stringMatching(/^Invalid /) } });
    }
    expect(calls).toEqual([]);
  });

  it('answerConfirm: refused where no one asks (Electron), handed to the transport where one does', async () => {
    const { core } = setup();
    expect(await core.answerConfirm('q1', true)).toEqual({ ok: false, error: { code: 'USAGE', message: NOT_WAITING_MESSAGE } });
    const answers: [string, boolean][] = [];
    const services = { drives: { list: async () => [], subscribe: () => () => undefined } } as unknown as MainServices;
    const asking = createApiCore(services, { pickImage: async () => null, saveReportPath: async () => null }, {
      answerConfirm: (id, accepted) => {
        if (id !== 'q1') throw new EngineError('USAGE', NOT_WAITING_MESSAGE);
        answers.push([id, accepted]);
      },
    });
    expect(await asking.answerConfirm('q1', false)).toEqual({ ok: true, value: null });
    expect(await asking.answerConfirm('q2', true)).toMatchObject({ ok: false, error: { code: 'USAGE' } });
    expect(await asking.answerConfirm('q1', 'no')).toMatchObject({ ok: false, error: { code: 'USAGE', message: expect.stringMatching(/^Invalid accepted/) } });
    expect(await asking.answerConfirm('', true)).toMatchObject({ ok: false, error: { code: 'USAGE', message: expect.stringMatching(/^Invalid id/) } });
    expect(answers).toEqual([['q1', false]]);
  });

  it('lists drives and probes an existing absolute image path', async () => {
    const { core } = setup();
    expect(await core.listDrives()).toEqual({ ok: true, value: [drive] });
    const probed = await core.probeImage(image);
    expect(probed.ok && probed.value.path).toBe(image);
  });

  it.each([
    ['relative path', 'disk.img', 'USAGE'],
    ['empty string', '', 'USAGE'],
    ['number', 42, 'USAGE'],
    ['NUL byte', `${image}\0x`, 'USAGE'],
    ['overlong path', `/${'a'.repeat(5000)}`, 'USAGE'],
    ['missing file', join(dir, 'missing.img'), 'IMAGE_NOT_FOUND'],
    ['directory', folder, 'IMAGE_NOT_FOUND'],
  ])('refuses probeImage of a %s before the image service sees it', async (_what, arg, code) => {
    const { core, calls } = setup();
    const result = await core.probeImage(arg);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe(code);
    expect(calls).toEqual([]);
  });

  it('turns an unexpected error into INTERNAL with a safe message and reports it to main', async () => {
    const bad = join(dir, 'bad.img');
    writeFileSync(bad, 'x');
    const { core, internal } = setup();
    const result = await core.probeImage(bad);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('INTERNAL');
      expect(result.error.message).not.toContain('/root/x');
    }
    expect(internal).toHaveLength(1);
  });

  it('keeps the code of a coded service error', async () => {
    const result = await setup().core.flash(request({ devices: ['/dev/other'] }));
    expect(result).toEqual({ ok: false, error: { code: 'TARGET_NOT_ALLOWED', message: 'not listed' } });
  });

  it('passes a valid flash request through and re-checks both paths in main', async () => {
    const { core, calls } = setup();
    expect(await core.flash(request({ bmapPath: bmap, acknowledged: ['large-drive'] }))).toEqual({ ok: true, value: { jobId: 'job-1' } });
    expect(calls).toEqual([{ method: 'start', arg: request({ bmapPath: bmap, acknowledged: ['large-drive'] }) }]);
    const missingBmap = await core.flash(request({ bmapPath: join(dir, 'none.bmap') }));
    expect(!missingBmap.ok && missingBmap.error.code).toBe('BMAP_NOT_FOUND');
  });

  it.each([
    ['retries above 10', { retries: 11 }],
    ['fractional retries', { retries: 1.5 }],
    ['negative retries', { retries: -1 }],
    ['string readback', { readback: 'yes' }],
    ['relative image', { imagePath: 'disk.img' }],
    ['empty device', { devices: [''] }],
    ['too many acknowledgements', { acknowledged: Array.from({ length: 33 }, (_, i) => `w${i}`) }],
    ['non-string acknowledgement', { acknowledged: [1] }],
    ['unknown field', { force: true }],
  ])('refuses a flash request with %s', async (_what, over) => {
    const { core, calls } = setup();
    const result = await core.flash({ ...request(), ...over });
    expect(!result.ok && result.error.code).toBe('USAGE');
    expect(calls).toEqual([]);
  });

  it('refuses a missing request and a missing image file', async () => {
    const { core } = setup();
    const none = await core.flash();
    expect(!none.ok && none.error.code).toBe('USAGE');
    const missing = await core.flash(request({ imagePath: join(dir, 'gone.img') }));
    expect(!missing.ok && missing.error.code).toBe('IMAGE_NOT_FOUND');
  });

  it('validates settings patches', async () => {
    const { core, calls } = setup();
    const good = await core.setSettings({ retries: 5, eject: true });
    expect(good.ok && good.value).toEqual({ ...DEFAULT_SETTINGS, retries: 5, eject: true });
    for (const bad of [{ retries: 99 }, { readback: 1 }, { theme: 'sepia' }, { colour: 'dark' }, null, 'x']) {
      const result = await core.setSettings(bad);
      expect(!result.ok && result.error.code).toBe('USAGE');
    }
    expect(calls).toHaveLength(1);
  });

  it('validates cancel job ids', async () => {
    const { core, calls } = setup();
    expect(await core.cancel('job-1')).toEqual({ ok: true, value: null });
    const bad = await core.cancel({ id: 1 });
    expect(!bad.ok && bad.error.code).toBe('USAGE');
    expect(calls).toEqual([{ method: 'cancel', arg: 'job-1' }]);
  });

  it('cardHistory: passes a card id through, refuses anything that is not one before the history is read', async () => {
    const { core, calls } = setup();
    expect(await core.cardHistory('cid-035344534e33')).toEqual({ ok: true, value: null });
    for (const bad of ['', 'a'.repeat(129), '../etc/passwd', "x' OR 1=1", 'fp-1%', 7, null]) {
      const result = await core.cardHistory(bad);
      expect(!result.ok && result.error.code, String(bad)).toBe('USAGE');
    }
    expect(calls).toEqual([{ method: 'history.card', arg: 'cid-035344534e33' }]);
  });

  const station = (over: Partial<StationRequest> = {}): StationRequest => ({
    imagePath: image, retries: 3, skipIdentical: false, readback: true, probe: true, maxCards: 4, slots: [], maxSizeBytes: null, ...over,
  });

  it('armStation: passes a valid request through, re-checks the image file in main', async () => {
    const { core, calls } = setup();
    const slot = '/devices/pci0000:00/0000:00:14.0/usb2/2-1';
    expect(await core.armStation(station({ slots: [slot], maxSizeBytes: 64e9, bmapPath: bmap }))).toMatchObject({ ok: true, value: { state: 'armed' } });
    expect(calls).toEqual([{ method: 'station.arm', arg: station({ slots: [slot], maxSizeBytes: 64e9, bmapPath: bmap }) }]);
    const missing = await core.armStation(station({ imagePath: join(dir, 'nope.img') }));
    expect(!missing.ok && missing.error.code).toBe('IMAGE_NOT_FOUND');
  });

  it.each([
    ['a URL image (a station re-reads its image for every card)', { imagePath: 'https://example.com/os.img' }],
    ['a relative image', { imagePath: 'os.img' }],
    ['no cards at a time', { maxCards: 0 }],
    ['more cards at a time than a job takes', { maxCards: 17 }],
    ['retries out of range', { retries: 11 }],
    ['a slot that is not a sysfs path', { slots: ['/dev/sdb'] }],
    ['a slot twice', { slots: ['/devices/a', '/devices/a'] }],
    ['a size limit that is no whole number', { maxSizeBytes: 1.5e9 + 0.5 }],
    ['a log file chosen by the page', { logFile: '/etc/cron.d/x' }],
  ])('armStation refuses %s before the station sees it', async (_what, over) => {
    const { core, calls } = setup();
    const result = await core.armStation({ ...station(), ...over });
    expect(!result.ok && result.error.code).toBe('USAGE');
    expect(calls).toEqual([]);
  });

  it('stopStation: finish by default, cancel when asked; cancelStationCard takes a card number', async () => {
    const { core, calls } = setup();
    await core.stopStation();
    await core.stopStation(true);
    await core.cancelStationCard(2);
    expect((await core.cancelStationCard('2')).ok).toBe(false);
    expect((await core.stopStation('yes')).ok).toBe(false);
    expect(calls).toEqual([
      { method: 'station.stop', arg: false },
      { method: 'station.stop', arg: true },
      { method: 'station.cancelCard', arg: 2 },
    ]);
  });

  it('pickImage: null on cancel, probes the chosen file otherwise', async () => {
    expect(await setup().core.pickImage()).toEqual({ ok: true, value: null });
    const chosen = await setup({ pickImage: async () => image }).core.pickImage();
    expect(chosen.ok && chosen.value?.path).toBe(image);
  });

  it('saveReport writes the job report where the user chose, and refuses unknown jobs', async () => {
    const target = join(dir, 'report.json');
    let offered = '';
    const { core } = setup({ saveReportPath: async (name) => ((offered = name), target) });
    expect(await core.saveReport('job-1')).toEqual({ ok: true, value: target });
    expect(offered).toBe(defaultReportName('job-1'));
    expect(JSON.parse(readFileSync(target, 'utf8'))).toEqual(report);
    const unknown = await core.saveReport('job-9');
    expect(!unknown.ok && unknown.error.code).toBe('USAGE');
    expect(await setup().core.saveReport('job-1')).toEqual({ ok: true, value: null });
  });

  it('saveReport names a folder it could not write to', async () => {
    const { core } = setup({ saveReportPath: async () => join(dir, 'no', 'such', 'dir', 'r.json') });
    const result = await core.saveReport('job-1');
    expect(!result.ok && result.error.code).toBe('WRITE_FAILED');
  });
});
