import { describe, expect, it } from 'vitest';
import { createAppStore } from '../../src/renderer/store/app-store';
import { fail } from '../../src/shared/result';
import { createFakeApi, drive, layout, report, targets, batch } from './fake-api';

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

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

  it('shows why the picked image cannot be used', async () => {
    const api = createFakeApi();
    api.pickResult = fail('BMAP_INVALID', 'os.img.bmap is not a bmap file');
    const store = createAppStore(api);
    await store.getState().pickImage();
    expect(store.getState().image).toBeNull();
    expect(store.getState().imageError).toBe('os.img.bmap is not a bmap file');
  });

  it('drops the chosen drive when it vanishes from the list', async () => {
    const api = createFakeApi([drive({ device: '/dev/sdb' }), drive({ device: '/dev/sdc' })]);
    const store = createAppStore(api);
    const stop = store.getState().init();
    await settle();
    store.getState().selectDevice('/dev/sdc');
    expect(store.getState().device).toBe('/dev/sdc');
    api.pushDrives([drive({ device: '/dev/sdb' })]);
    expect(store.getState().device).toBeNull();
    stop();
  });

  it('runs a job: request from the choices, events into the job, report on the final screen', async () => {
    const api = createFakeApi([drive({ device: '/dev/sdb' })]);
    const store = createAppStore(api);
    const stop = store.getState().init();
    await settle();
    await store.getState().pickImage();
    store.getState().selectDevice('/dev/sdb');
    await store.getState().setRetries(7);
    await store.getState().flash(['LARGE']);
    expect(api.flashRequests).toEqual([
      { imagePath: '/images/os.img.zst', devices: ['/dev/sdb'], readback: true, retries: 7, skipIdentical: false, probe: true, acknowledged: ['LARGE'] },
    ]);
    expect(store.getState().screen).toBe('flashing');
    api.pushFlash({ type: 'started', jobId: 'job-1', layout, targets });
    api.pushFlash({
      type: 'progress',
      jobId: 'job-1',
      device: '/dev/sdb',
      progress: { phase: 'writing', bytesDone: 1, bytesTotal: 2, speed: 1, etaSeconds: 1, retries: 0, rangeChanges: [{ index: 1, state: 'writing', retries: 0 }] },
    });
    expect(store.getState().job.rangeStates).toEqual(['pending', 'writing', 'pending']);
    api.pushFlash({ type: 'done', jobId: 'job-1', report: batch(report('verified')) });
    expect(store.getState().screen).toBe('final');
    await store.getState().saveReport();
    expect(store.getState().savedReportPath).toBe('/tmp/sureflash-report-job-1.json');
    store.getState().flashAnother();
    expect(store.getState().screen).toBe('setup');
    expect(store.getState().device).toBe('/dev/sdb');
    stop();
  });

  it('returns to setup with the reason when main refuses to flash', async () => {
    const api = createFakeApi([drive({ device: '/dev/sdb' })]);
    api.flashResult = fail('TARGET_NOT_ALLOWED', '/dev/sdb needs your explicit confirmation first');
    const store = createAppStore(api);
    const stop = store.getState().init();
    await settle();
    await store.getState().pickImage();
    store.getState().selectDevice('/dev/sdb');
    await store.getState().flash([]);
    expect(store.getState().screen).toBe('setup');
    expect(store.getState().flashError?.code).toBe('TARGET_NOT_ALLOWED');
    stop();
  });

  it('clamps retries to 0–10 before saving them', async () => {
    const api = createFakeApi();
    const store = createAppStore(api);
    await store.getState().setRetries(42);
    expect(api.calls).toContainEqual({ method: 'setSettings', args: [{ retries: 10 }] });
    expect(store.getState().settings.retries).toBe(10);
  });

  it('keeps the lost-connection message for the banner', () => {
    const store = createAppStore(createFakeApi());
    expect(store.getState().connectionError).toBeNull();
    store.getState().connectionLost('Lost the connection');
    expect(store.getState().connectionError).toBe('Lost the connection');
  });

  it('does not let a late event of the previous job take over the next one', async () => {
    const api = createFakeApi([drive({ device: '/dev/sdb' })]);
    const store = createAppStore(api);
    const stop = store.getState().init();
    await settle();
    await store.getState().pickImage();
    store.getState().selectDevice('/dev/sdb');
    await store.getState().flash([]);
    api.pushFlash({ type: 'started', jobId: 'job-1', layout, targets });
    api.pushFlash({ type: 'done', jobId: 'job-1', report: batch(report('cancelled')) });
    store.getState().flashAnother();
    api.flashResult = { ok: true, value: { jobId: 'job-2' } };
    const starting = store.getState().flash([]);
    // Before job-2 is known, a stray event of job-1 arrives: it must be ignored.
    api.pushFlash({ type: 'done', jobId: 'job-1', report: batch(report('cancelled')) });
    expect(store.getState().screen).toBe('flashing');
    await starting;
    api.pushFlash({ type: 'started', jobId: 'job-2', layout, targets });
    expect(store.getState().job.jobId).toBe('job-2');
    stop();
  });
});
