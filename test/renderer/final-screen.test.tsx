import { act, cleanup, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { FlashReport } from '../../src/shared/report';
import type { ApiError } from '../../src/shared/result';
import { report, batch } from './fake-api';
import { startFlashing } from './render-app';

afterEach(cleanup);

async function finish(final: FlashReport | null, error = { code: 'DEVICE_LOST' as const, message: '/dev/sdb disappeared while writing' } as ApiError) {
  const { api, user, view } = await startFlashing();
  act(() =>
    api.pushFlash(
      final
        ? { type: 'done', jobId: 'job-1', report: batch(final) }
        : { type: 'error', jobId: 'job-1', error },
    ),
  );
  return { api, user, view, status: screen.getByRole('status') };
}

describe('final screen', () => {
  it('Verified: counts, time, speed, and a saved report', async () => {
    const { status, user, api } = await finish(report('verified', [{}, { retries: 2, rewrittenBlocks: 3 }, {}]));
    expect(status.textContent).toMatch(/^Verified/);
    expect(screen.getByTestId('final-what').textContent).toBe('os.img → /dev/sdz');
    expect(screen.getByTestId('ranges-verified').textContent).toBe('3 of 3');
    expect(screen.getByTestId('ranges-retried').textContent).toBe('1');
    expect(screen.getByTestId('ranges-failed').textContent).toBe('0');
    expect(screen.getByText('Blocks 100–109: 2 retries, 3 blocks rewritten')).toBeTruthy();
    expect(screen.getByText('2.4 s')).toBeTruthy();
    expect(screen.getByText('12.5 MB/s')).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Save report' }));
    expect(api.calls).toContainEqual({ method: 'saveReport', args: ['job-1'] });
    expect((await screen.findByText(/Report saved to/)).textContent).toMatch(/sureflash-report-job-1\.json/);
  });

  it('Failed: names the blocks that did not hold and the next step', async () => {
    const failed = report('failed', [{}, { state: 'failed', retries: 3, badBlocks: [{ first: 104, last: 105 }, { first: 108, last: 108 }] }, {}], {
      error: { code: 'READBACK_MISMATCH', message: '1 range did not read back correctly after 3 retries' },
    });
    const { status } = await finish(failed);
    expect(status.textContent).toMatch(/^Failed: 1 range did not read back/);
    expect(screen.getByText('Blocks 104–105 did not hold data after 3 retries: replace the card.')).toBeTruthy();
    expect(screen.getByText('Block 108 did not hold data after 3 retries: replace the card.')).toBeTruthy();
    expect(screen.getByText(/The card did not keep what was written/)).toBeTruthy();
    expect(screen.getByTestId('ranges-failed').textContent).toBe('1');
    expect(screen.getByTestId('range-map').querySelector('[data-index="1"]')?.getAttribute('data-state')).toBe('failed');
  });

  it('Cancelled: says the drive holds a partial image', async () => {
    const { status } = await finish(report('cancelled', [{}, { state: 'pending' }, { state: 'pending' }]));
    expect(status.textContent).toMatch(/^Cancelled/);
    expect(screen.getByText(/holds a partial image/)).toBeTruthy();
  });

  it('Written: not verified when read-back was off', async () => {
    const { status } = await finish(report('written-unverified', [{ state: 'written' }, { state: 'written' }, { state: 'written' }]));
    expect(status.textContent).toMatch(/^Written, not verified/);
    expect(screen.getByTestId('ranges-verified').textContent).toBe('0 of 3');
  });

  it('Failed without a report: the error and what to do, no report to save', async () => {
    const { status } = await finish(null);
    expect(status.textContent).toBe('Failed: /dev/sdb disappeared while writing');
    expect(screen.getByText(/Check that the drive is still connected/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Save report' })).toBeNull();
  });

  it('Refused elevation: Cancelled, nothing written, and how to go on', async () => {
    const { status } = await finish(null, { code: 'ELEVATION_REFUSED', message: 'Administrator rights were not granted, so nothing was written to the drive.' });
    expect(status.textContent).toBe('Cancelled: Administrator rights were not granted, so nothing was written to the drive.');
    expect(screen.getByText(/flash again and allow it/)).toBeTruthy();
    expect(screen.queryByText(/partial image/)).toBeNull();
  });

  it('Flash another returns to the three steps with the same image and drive', async () => {
    const { user, view } = await finish(report('verified'));
    await user.click(screen.getByRole('button', { name: 'Flash another' }));
    expect(screen.getByRole('button', { name: 'Flash!' })).toBeTruthy();
    expect(view.store.getState().image?.name).toBe('os.img.zst');
  });
});
