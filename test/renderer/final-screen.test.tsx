import { act, cleanup, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { DriveInfo } from '../../src/shared/api';
import type { FlashReport } from '../../src/shared/report';
import type { ApiError } from '../../src/shared/result';
import { batch, drive, report } from './fake-api';
import { startFlashing } from './render-app';

afterEach(cleanup);

async function finish(final: FlashReport | null, error = { code: 'DEVICE_LOST' as const, message: '/dev/sdb disappeared while writing' } as ApiError) {
  const { api, user, view } = await startFlashing();
  act(() => api.pushFlash(final ? { type: 'done', jobId: 'job-1', report: batch(final) } : { type: 'error', jobId: 'job-1', error }));
  return { api, user, view, status: screen.getByRole('status') };
}

const listItems = (testId: string): string[] => [...screen.getByTestId(testId).querySelectorAll('li')].map((li) => li.textContent ?? '');
const paints = (): string[] => [...new Set([...screen.getByTestId('range-map').querySelectorAll('[data-paint]')].map((el) => (el as HTMLElement).dataset.paint ?? ''))];

describe('final screen, one card', () => {
  it('Verified: a headline, what it means, "You can remove the card now", and the figures', async () => {
    const { status, user, api } = await finish(report('verified'));
    expect(status.textContent).toBe('Verified Every written block was read back from the card itself after a flush, and matched.');
    expect(screen.getByText('You can remove the card now.')).toBeTruthy();
    expect(screen.getByTestId('final-what').textContent).toBe('os.img → /dev/sdb');
    expect(screen.getByTestId('ranges-verified').textContent).toBe('3 of 3');
    expect(screen.getByTestId('ranges-rewritten').textContent).toBe('none');
    expect(screen.getByTestId('ranges-failed').textContent).toBe('none');
    expect(screen.getByText('2.4 s')).toBeTruthy();
    expect(screen.getByText('12.5 MB/s')).toBeTruthy();
    expect(screen.queryByTestId('unsafe')).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Save report' }));
    expect(api.calls).toContainEqual({ method: 'saveReport', args: ['job-1'] });
    expect((await screen.findByText(/Report saved to/)).textContent).toMatch(/sureflash-report-job-1\.json/);
  });

  it('says the card was ejected when main ejected it, and that the final pass ran', async () => {
    const { status } = await finish(
      report('verified', [], {
        target: { path: '/dev/sdz', size: 16e9, kind: 'block-device', ejected: true },
        verification: { afterFlush: true, flushes: 3, finalPass: { bytes: 8e6, firstBytes: 4e6, lastBytes: 4e6, markers: 8, mismatchedBlocks: 0 } },
      }),
    );
    expect(status.textContent).toMatch(/checked once more at the end\.$/);
    expect(screen.getByText('The card was ejected: you can remove it now.')).toBeTruthy();
    expect(screen.getByText(/From the card itself, without any cache, after a flush; 8 MB checked again after the last flush/)).toBeTruthy();
  });

  it('a corrupt image: the damaged range is shown as failed (source), and the card must not be used', async () => {
    const corrupt = report('failed', [{}, { state: 'source-mismatch' }, { state: 'pending' }], {
      error: { code: 'SOURCE_CHECKSUM_MISMATCH', message: 'image /images/os.img is corrupted: range 2 (blocks 100-109) does not match the bmap checksum' },
      unsafeToUse: true,
    });
    const { status } = await finish(corrupt);
    expect(status.textContent).toBe('Failed The image file is damaged: 1 range of it does not match its block map.');
    expect(screen.getByTestId('unsafe').textContent).toBe('The card was partly overwritten: it holds part of an image and must not be used. Flash it again, or replace it.');
    expect(screen.getByTestId('ranges-source').textContent).toBe('1 range');
    expect(listItems('list-source')).toEqual(["Range 2, blocks 100–109: the image's data does not match its block map."]);
    expect(screen.getByTestId('ranges-unreached').textContent).toBe('1 range: the job stopped first');
    expect(paints()).toContain('source');
    expect(screen.getByText('Download the image again, then flash the card again.')).toBeTruthy();
    // The same image would fail the same way: no "flash again".
    expect(screen.queryByRole('button', { name: /again/ })).toBeNull();
  });

  it('a download that fails its published checksum before any range was written: says so, and that only the capacity check touched the card', async () => {
    const early = report('failed', [{ state: 'pending' }, { state: 'pending' }, { state: 'pending' }], {
      image: { path: 'https://example.org/os.img.gz', size: 1e6, imageSize: 2e6, compression: 'gzip', decoder: 'gzip', origin: 'url', downloadedBytes: 1e6, checksum: { kind: 'sha256', status: 'mismatch', source: 'os.img.gz.sha256' } },
      error: { code: 'CHECKSUM_MISMATCH', message: `https://example.org/os.img.gz does not match its published sha256 (os.img.gz.sha256): got ${'a'.repeat(64)}, expected ${'b'.repeat(64)}.` },
      unsafeToUse: true,
      averageSpeed: 0,
    });
    const { status } = await finish(early);
    expect(status.textContent).toBe('Failed The downloaded image does not match its published checksum: this was found before any of it was written.');
    expect(screen.getByTestId('unsafe').textContent).toMatch(/^The card was partly overwritten by the capacity check, before any of the image/);
    expect(screen.getByTestId('checksum').textContent).toBe('Does NOT match the published sha256');
    expect(screen.getByTestId('downloaded').textContent).toBe('1 MB');
    expect(screen.getByText('None: no part of the image was written')).toBeTruthy();
    expect(document.body.textContent).not.toMatch(/a{64}|b{64}/);
  });

  it('a download that fails its published checksum after ranges were written: the card holds an image that failed its check', async () => {
    const late = report('failed', [{}, {}, { state: 'pending' }], {
      error: { code: 'CHECKSUM_MISMATCH', message: 'does not match its published sha256' },
      unsafeToUse: true,
    });
    const { status } = await finish(late);
    expect(status.textContent).toBe('Failed The downloaded image does not match its published checksum: the card holds an image that failed its check.');
    expect(screen.getByTestId('unsafe').textContent).toMatch(/^The card holds an image that failed its published checksum: it must not be used/);
    expect(screen.queryByRole('button', { name: /again/ })).toBeNull();
  });

  it('says the card was partly overwritten even when an older engine does not set unsafeToUse', async () => {
    const { status } = await finish(report('failed', [{}, { state: 'pending' }, { state: 'pending' }], { error: { code: 'SOURCE_CHECKSUM_MISMATCH', message: 'image is corrupted' } }));
    expect(status.textContent).toBe('Failed The image file is damaged: part of it does not match its block map.');
    expect(screen.getByTestId('unsafe')).toBeTruthy();
  });

  it('counts agree with their lists and say what they count: ranges, distinct blocks, block writes', async () => {
    // Two ranges rewritten then verified (one block rewritten twice in the first), one range that never held.
    const mixed = report(
      'failed',
      [
        { retries: 2, rewrittenBlocks: 2, retriedBlocks: 1, retriedSpans: [{ first: 3, last: 3 }] },
        { state: 'failed', retries: 3, rewrittenBlocks: 6, retriedBlocks: 2, badBlocks: [{ first: 104, last: 105 }] },
        { retries: 1, rewrittenBlocks: 4, retriedBlocks: 4 },
      ],
      { error: { code: 'READBACK_MISMATCH', message: 'blocks 104-105 did not hold the written data after 3 retries (retries exhausted): range 2' } },
    );
    await finish({ ...mixed, totals: { ...mixed.totals, retriedBlocks: 7 } });
    expect(screen.getByTestId('ranges-rewritten').textContent).toBe('2 ranges; 7 blocks needed rewriting (12 block writes)');
    expect(listItems('list-rewritten')).toEqual([
      'Range 1, blocks 0–9: 2 retries, 1 block rewritten (2 block writes), then verified.',
      'Range 3, blocks 200–255: 1 retry, 4 blocks rewritten, then verified.',
    ]);
    expect(screen.getByTestId('list-rewritten').querySelector('h3')?.textContent).toBe('Verified after rewriting (2 ranges)');
    expect(screen.getByTestId('ranges-failed').textContent).toBe('1 range, 2 blocks');
    expect(listItems('list-failed')).toEqual(['Blocks 104–105 (range 2) did not hold after 3 retries.']);
    expect(screen.getByTestId('ranges-verified').textContent).toBe('2 of 3');
    // The map draws the bad blocks apart from the blocks that held, and rewritten ranges apart from plain ones.
    expect(paints()).toEqual(expect.arrayContaining(['rewritten', 'failed', 'verified']));
    // 160 columns over 256 blocks: blocks 104–105 fall in columns 65 and 66, and only those are marked.
    const columns = [...screen.getByTestId('range-map').querySelectorAll('.map-col')];
    expect(columns.map((c, i) => (c.classList.contains('has-bad') ? i : -1)).filter((i) => i >= 0)).toEqual([65, 66]);
    // The first problem is picked: its block strip shows where the blocks that were rewritten are.
    expect(screen.getByTestId('range-info').textContent).toMatch(/^Range 1 of 3: blocks 0–9, 41 kB, verified after 2 retries \(1 block rewritten\)$/);
    expect(within(screen.getByTestId('block-strip')).getAllByRole('listitem').map((c) => c.dataset.paint)).toEqual(['verified', 'verified', 'verified', 'rewritten', 'verified', 'verified', 'verified', 'verified', 'verified', 'verified']);
  });

  it('a worn card with retries off: plain advice that names the Retries setting, never a command-line option', async () => {
    const { status } = await finish(
      report('failed', [{}, { state: 'failed', retries: 0, badBlocks: [{ first: 108, last: 108 }] }, {}], {
        options: { readback: true, verifySource: true, retries: 0 },
        error: { code: 'READBACK_MISMATCH', message: 'block 108 did not hold the written data (retry is off: --checksum-retry=N rewrites such blocks): range 2' },
      }),
    );
    expect(status.textContent).toBe('Failed 1 block did not hold what was written (retries are off in Settings): the card is worn or faulty.');
    expect(screen.getByText('Replace the card, or flash it again with more "Retries" in Settings.')).toBeTruthy();
    expect(document.body.textContent).not.toMatch(/--[a-z]/);
  });

  it('Cancelled: the card was partly overwritten', async () => {
    const { status } = await finish(report('cancelled', [{}, { state: 'pending' }, { state: 'pending' }]));
    expect(status.textContent).toBe('Cancelled You stopped it before the end.');
    expect(screen.getByTestId('unsafe')).toBeTruthy();
    expect(screen.queryByText(/You can remove the card now/)).toBeNull();
  });

  it('Written, not checked: read back was off', async () => {
    const { status } = await finish(report('written-unverified', [{ state: 'written' }, { state: 'written' }, { state: 'written' }], { readback: 'none' }));
    expect(status.textContent).toMatch(/^Written, not checked The image was written but not read back \("Read back and verify" is off in Settings\)/);
    expect(screen.getByTestId('ranges-verified').textContent).toBe('0 of 3');
    expect(paints()).toEqual(['written']);
  });

  it('verify mode: the card holds this image, nothing was written', async () => {
    const { api } = await startFlashing(undefined, 'verify');
    act(() => api.pushFlash({ type: 'done', jobId: 'job-1', report: batch(report('verified', [], { mode: 'verify' })) }));
    expect(screen.getByRole('status').textContent).toBe('Verified The card holds this image: every mapped block read from it matches.');
    expect(screen.queryByTestId('ranges-rewritten')).toBeNull();
  });

  it('Failed without a report: the error and what to do, no report to save', async () => {
    const { status } = await finish(null);
    expect(status.textContent).toBe('Failed /dev/sdb disappeared while writing');
    expect(screen.getByText(/Check that the drive is still connected/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Save report' })).toBeNull();
  });

  it('Refused elevation: Cancelled, nothing written', async () => {
    const { status } = await finish(null, { code: 'ELEVATION_REFUSED', message: 'Administrator rights were not granted, so nothing was written to the drive.' });
    expect(status.textContent).toBe('Cancelled Administrator rights were not granted, so nothing was written to the drive.');
    expect(screen.queryByTestId('unsafe')).toBeNull();
  });

  it('Flash another returns to the three steps with the image kept and no target armed', async () => {
    const { user, view } = await finish(report('verified'));
    await user.click(screen.getByRole('button', { name: 'Flash another' }));
    expect(screen.getByRole('button', { name: 'Flash!' })).toBeTruthy();
    expect(view.store.getState().image?.name).toBe('os.img.zst');
    expect(view.store.getState().devices).toEqual([]);
    expect((screen.getByRole('button', { name: 'Flash!' }) as HTMLButtonElement).disabled).toBe(true);
  });
});

describe('final screen, several cards', () => {
  const cards: DriveInfo[] = ['/dev/sdb', '/dev/sdc', '/dev/sdd'].map((device) => drive({ device, description: `Card ${device.slice(-1)}` }));
  const on = (device: string, r: FlashReport): FlashReport => ({ ...r, target: { ...r.target, path: device } });

  it('lists every card with its own verdict, saves the batch report, and flashes only the failed ones again', async () => {
    const { api, user } = await startFlashing(cards);
    const worn = report('failed', [{}, { state: 'failed', retries: 3, badBlocks: [{ first: 104, last: 104 }] }, {}], { error: { code: 'READBACK_MISMATCH', message: 'block 104 did not hold' } });
    act(() => api.pushFlash({ type: 'done', jobId: 'job-1', report: batch(on('/dev/sdb', report('verified')), on('/dev/sdc', worn), on('/dev/sdd', report('cancelled'))) }));
    expect(screen.getByTestId('batch-headline').textContent).toBe('1 of 3 cards verified');
    const statuses = screen.getAllByRole('status').map((s) => s.textContent ?? '');
    expect(statuses.map((s) => s.split(' ')[0])).toEqual(['Verified', 'Failed', 'Cancelled']);
    // The first card that did not verify is open, with its blocks.
    expect(screen.getByRole('region', { name: 'Details of /dev/sdc' }).textContent).toMatch(/Block 104 \(range 2\) did not hold after 3 retries\./);
    await user.click(screen.getByRole('button', { name: 'Details of /dev/sdb' }));
    expect(screen.getByRole('region', { name: 'Details of /dev/sdb' })).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Save report' }));
    expect(api.calls).toContainEqual({ method: 'saveReport', args: ['job-1'] });
    api.flashResult = { ok: true, value: { jobId: 'job-2' } };
    await user.click(screen.getByRole('button', { name: 'Flash failed cards again (2)' }));
    expect(api.flashRequests[1]?.devices).toEqual(['/dev/sdc', '/dev/sdd']);
  });

  it('says which failed cards are gone, and flashes only those still connected', async () => {
    const { api, user } = await startFlashing(cards);
    act(() => api.pushFlash({ type: 'done', jobId: 'job-1', report: batch(on('/dev/sdb', report('failed')), on('/dev/sdc', report('failed')), on('/dev/sdd', report('verified'))) }));
    act(() => api.pushDrives(cards.filter((c) => c.device !== '/dev/sdb')));
    const again = screen.getByRole('button', { name: 'Flash failed cards again (1)' });
    expect(again.getAttribute('title')).toBe('1 of them is no longer connected');
    await user.click(again);
    expect(api.flashRequests[1]?.devices).toEqual(['/dev/sdc']);
  });
});
