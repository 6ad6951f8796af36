import { describe, expect, it } from 'vitest';
import { createAppStore } from '../../src/renderer/store/app-store';
import type { JobTarget } from '../../src/shared/api';
import { fail } from '../../src/shared/result';
import { batch, createFakeApi, drive, layout, report, targets } from './fake-api';

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

async function ready(drives = [drive({ device: '/dev/sdb' }), drive({ device: '/dev/sdc' })]) {
  const api = createFakeApi(drives);
  const store = createAppStore(api);
  const stop = store.getState().init();
  await settle();
  await store.getState().pickImage();
  return { api, store, stop };
}

const onCard = (device: string, status: Parameters<typeof report>[0]) => report(status, [], { target: { path: device, size: 16e9, kind: 'block-device' } });

describe('app store', () => {
  it('probes a dropped file at the path the host gives for it', async () => {
    const api = createFakeApi();
    const store = createAppStore(api);
    api.droppedPath = '/home/me/raspios.img.xz';
    await store.getState().dropFile(new File(['x'], 'raspios.img.xz'));
    expect(api.calls).toContainEqual({ method: 'probeImage', args: ['/home/me/raspios.img.xz'] });
    expect(store.getState().image?.path).toBe('/home/me/raspios.img.xz');
    expect(store.getState().imageError).toBeNull();
  });

  it('explains a drop when the host cannot tell where the file is, and probes nothing', async () => {
    const api = createFakeApi();
    const store = createAppStore(api);
    await store.getState().dropFile(new File(['x'], 'raspios.img.xz'));
    expect(api.calls.some((c) => c.method === 'probeImage')).toBe(false);
    expect(store.getState().imageError).toMatch(/raspios\.img\.xz.*Select image/);
  });

  it('probes a link (https), and refuses what is not a web link before asking main', async () => {
    const api = createFakeApi();
    const store = createAppStore(api);
    await store.getState().openUrl('  https://downloads.example.org/os.img.xz?v=2  ');
    expect(api.calls).toContainEqual({ method: 'probeImage', args: ['https://downloads.example.org/os.img.xz?v=2'] });
    await store.getState().openUrl('ftp://example.org/os.img');
    await store.getState().openUrl('not a link');
    expect(api.calls.filter((c) => c.method === 'probeImage')).toHaveLength(1);
    expect(store.getState().imageError).toBe('"not a link" is not a web link: paste an address that starts with https:// or http://.');
  });

  it('shows why the picked image cannot be used', async () => {
    const api = createFakeApi();
    api.pickResult = fail('BMAP_INVALID', 'os.img.bmap is not a bmap file');
    const store = createAppStore(api);
    await store.getState().pickImage();
    expect(store.getState().image).toBeNull();
    expect(store.getState().imageError).toBe('os.img.bmap is not a bmap file');
  });

  it('drops a chosen drive when it vanishes from the list', async () => {
    const { api, store, stop } = await ready();
    store.getState().selectDevices(['/dev/sdb', '/dev/sdc']);
    api.pushDrives([drive({ device: '/dev/sdb' })]);
    expect(store.getState().devices).toEqual(['/dev/sdb']);
    stop();
  });

  it('runs a job over several cards: one request, events into each card, the batch on the final screen', async () => {
    const { api, store, stop } = await ready();
    store.getState().selectDevices(['/dev/sdc', '/dev/sdb']);
    await store.getState().updateSettings({ retries: 7 });
    await store.getState().flash(['LARGE']);
    expect(api.flashRequests).toEqual([
      { mode: 'copy', imagePath: '/images/os.img.zst', devices: ['/dev/sdc', '/dev/sdb'], readback: true, retries: 7, skipIdentical: false, probe: true, acknowledged: ['LARGE'] },
    ]);
    expect(store.getState().screen).toBe('flashing');
    const both: JobTarget[] = ['/dev/sdc', '/dev/sdb'].map((device) => ({ device, description: 'Card', size: 16e9, identity: null }));
    api.pushFlash({ type: 'started', jobId: 'job-1', layout, targets: both });
    api.pushFlash({
      type: 'progress',
      jobId: 'job-1',
      device: '/dev/sdb',
      progress: { phase: 'writing', bytesDone: 1, bytesTotal: 2, speed: 1, etaSeconds: 1, retries: 0, rangeChanges: [{ index: 1, state: 'writing', retries: 0 }] },
    });
    expect(store.getState().job.cards['/dev/sdb']?.ranges.map((r) => r.state)).toEqual(['pending', 'writing', 'pending']);
    expect(store.getState().job.cards['/dev/sdc']?.ranges.map((r) => r.state)).toEqual(['pending', 'pending', 'pending']);
    api.pushFlash({ type: 'target-done', jobId: 'job-1', device: '/dev/sdc', report: onCard('/dev/sdc', 'verified') });
    expect(store.getState().screen).toBe('flashing');
    api.pushFlash({ type: 'done', jobId: 'job-1', report: batch(onCard('/dev/sdc', 'verified'), onCard('/dev/sdb', 'verified')) });
    expect(store.getState().screen).toBe('final');
    await store.getState().saveReport();
    expect(store.getState().savedReportPath).toBe('/tmp/sureflash-report-job-1.json');
    stop();
  });

  it('verifies without writing: mode "verify" in the request', async () => {
    const { api, store, stop } = await ready();
    store.getState().selectDevices(['/dev/sdb']);
    await store.getState().flash([], 'verify');
    expect(api.flashRequests[0]?.mode).toBe('verify');
    stop();
  });

  it('"Flash another" keeps the image but arms no target, not even the card just flashed', async () => {
    const { api, store, stop } = await ready([drive({ device: '/dev/sdb' })]);
    // The only card is chosen automatically.
    expect(store.getState().devices).toEqual(['/dev/sdb']);
    expect(store.getState().autoSelected).toBe('/dev/sdb');
    await store.getState().flash([]);
    api.pushFlash({ type: 'started', jobId: 'job-1', layout, targets });
    api.pushFlash({ type: 'done', jobId: 'job-1', report: batch(onCard('/dev/sdb', 'verified')) });
    store.getState().flashAnother();
    expect(store.getState().screen).toBe('setup');
    expect(store.getState().image?.name).toBe('os.img.zst');
    expect(store.getState().devices).toEqual([]);
    api.pushDrives([drive({ device: '/dev/sdb' })]);
    expect(store.getState().devices).toEqual([]);
    // Pulled out and a card put in again: that one is chosen.
    api.pushDrives([]);
    api.pushDrives([drive({ device: '/dev/sdb' })]);
    expect(store.getState().devices).toEqual(['/dev/sdb']);
    stop();
  });

  it('does not choose a drive again by itself after the user turned it down', async () => {
    const { api, store, stop } = await ready([drive({ device: '/dev/sdb' })]);
    expect(store.getState().devices).toEqual(['/dev/sdb']);
    store.getState().selectDevices([]);
    api.pushDrives([drive({ device: '/dev/sdb' })]);
    expect(store.getState().devices).toEqual([]);
    stop();
  });

  it('"Flash failed cards again" re-runs only the cards that did not end verified, with the same answers', async () => {
    const { api, store, stop } = await ready([drive({ device: '/dev/sdb' }), drive({ device: '/dev/sdc' }), drive({ device: '/dev/sdd' })]);
    store.getState().selectDevices(['/dev/sdb', '/dev/sdc', '/dev/sdd']);
    await store.getState().flash(['LARGE']);
    const three: JobTarget[] = ['/dev/sdb', '/dev/sdc', '/dev/sdd'].map((device) => ({ device, description: 'Card', size: 16e9, identity: null }));
    api.pushFlash({ type: 'started', jobId: 'job-1', layout, targets: three });
    api.pushFlash({ type: 'done', jobId: 'job-1', report: batch(onCard('/dev/sdb', 'failed'), onCard('/dev/sdc', 'verified'), onCard('/dev/sdd', 'cancelled')) });
    api.flashResult = { ok: true, value: { jobId: 'job-2' } };
    await store.getState().flashFailedAgain();
    expect(api.flashRequests[1]).toMatchObject({ devices: ['/dev/sdb', '/dev/sdd'], acknowledged: ['LARGE'], mode: 'copy' });
    expect(store.getState().screen).toBe('flashing');
    stop();
  });

  it('cancels one card of a job, or all of it', async () => {
    const { api, store, stop } = await ready();
    store.getState().selectDevices(['/dev/sdb', '/dev/sdc']);
    await store.getState().flash([]);
    await store.getState().cancel('/dev/sdc');
    expect(store.getState().cancellingDevices).toEqual(['/dev/sdc']);
    await store.getState().cancel();
    expect(api.calls.filter((c) => c.method === 'cancel')).toEqual([
      { method: 'cancel', args: ['job-1', '/dev/sdc'] },
      { method: 'cancel', args: ['job-1'] },
    ]);
    stop();
  });

  it('returns to setup with the reason when main refuses to flash', async () => {
    const { api, store, stop } = await ready();
    api.flashResult = fail('TARGET_NOT_ALLOWED', '/dev/sdb needs your explicit confirmation first');
    store.getState().selectDevices(['/dev/sdb']);
    await store.getState().flash([]);
    expect(store.getState().screen).toBe('setup');
    expect(store.getState().flashError?.code).toBe('TARGET_NOT_ALLOWED');
    stop();
  });

  it('refuses retries outside 0–10 with the reason, and saves nothing', async () => {
    const api = createFakeApi();
    const store = createAppStore(api);
    expect(await store.getState().updateSettings({ retries: 42 })).toBe(false);
    expect(await store.getState().updateSettings({ retries: 1.5 })).toBe(false);
    expect(api.calls.some((c) => c.method === 'setSettings')).toBe(false);
    expect(store.getState().settingsError).toBe('Retries must be a whole number from 0 to 10.');
    expect(store.getState().settings.retries).toBe(3);
    expect(await store.getState().updateSettings({ retries: 10 })).toBe(true);
    expect(store.getState().settings.retries).toBe(10);
    expect(store.getState().settingsError).toBeNull();
  });

  it('keeps the lost-connection message for the banner', () => {
    const store = createAppStore(createFakeApi());
    expect(store.getState().connectionError).toBeNull();
    store.getState().connectionLost('Lost the connection');
    expect(store.getState().connectionError).toBe('Lost the connection');
  });

  it('does not let a late event of the previous job take over the next one', async () => {
    const { api, store, stop } = await ready();
    store.getState().selectDevices(['/dev/sdb']);
    await store.getState().flash([]);
    api.pushFlash({ type: 'started', jobId: 'job-1', layout, targets });
    api.pushFlash({ type: 'done', jobId: 'job-1', report: batch(report('cancelled')) });
    store.getState().flashAnother();
    store.getState().selectDevices(['/dev/sdc']);
    api.flashResult = { ok: true, value: { jobId: 'job-2' } };
    const starting = store.getState().flash([]);
    // Before job-2 is known, a stray event of job-1 arrives: it must be ignored.
    api.pushFlash({ type: 'done', jobId: 'job-1', report: batch(report('cancelled')) });
    expect(store.getState().screen).toBe('flashing');
    await starting;
    api.pushFlash({ type: 'started', jobId: 'job-2', layout, targets: [{ device: '/dev/sdc', description: 'Card', size: 16e9, identity: null }] });
    expect(store.getState().job.jobId).toBe('job-2');
    stop();
  });
});
