import { act, cleanup, fireEvent, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { FlashProgress } from '../../src/shared/report';
import { drive, layout, report } from './fake-api';
import { startFlashing } from './render-app';

afterEach(cleanup);

const progress = (changes: FlashProgress['rangeChanges'], extra: Partial<FlashProgress> = {}): FlashProgress => ({
  phase: 'writing',
  bytesDone: layout.mappedBytes / 2,
  bytesTotal: layout.mappedBytes,
  speed: 20e6,
  etaSeconds: 75,
  retries: 0,
  rangeChanges: changes,
  ...extra,
});

describe('the flash step while one card flashes', () => {
  it('shows phase, percent, write speed, time left and retries; the phase says it reads back (readback on)', async () => {
    const { api, view } = await startFlashing();
    act(() => api.pushFlash({ type: 'progress', jobId: 'job-1', device: '/dev/sdb', progress: progress([]) }));
    expect(screen.getByTestId('phase').textContent).toBe('Writing and reading back');
    expect(screen.getByTestId('percent').textContent).toBe('50%');
    expect(screen.getByRole('progressbar', { name: 'Done' }).getAttribute('aria-valuenow')).toBe('50');
    expect(screen.getByTestId('write-speed').textContent).toBe('Writing 20.0 MB/s');
    expect(screen.getByText('1 min 15 s left')).toBeTruthy();
    expect(screen.getByLabelText('Retries: 0').textContent).toBe('0');
    expect(screen.queryByTestId('download-speed')).toBeNull();
    act(() => view.store.setState((s) => ({ settings: { ...s.settings, readback: false } })));
    expect(screen.getByTestId('phase').textContent).toBe('Writing');
  });

  it('says in words when blocks are being rewritten, live, with the retry count', async () => {
    const { api } = await startFlashing();
    act(() =>
      api.pushFlash({
        type: 'progress',
        jobId: 'job-1',
        device: '/dev/sdb',
        progress: progress([{ index: 1, state: 'retrying', retries: 1 }], { phase: 'retrying', retries: 1, activity: { kind: 'rewriting', blocks: 3, range: 1 } }),
      }),
    );
    expect(screen.getByTestId('phase').textContent).toBe('Rewriting 3 blocks that did not hold');
    expect(screen.getByTestId('phase').className).toContain('phase-retrying');
    expect(screen.getByLabelText('Retries: 1').textContent).toBe('1');
    expect(screen.getByTestId('range-map').querySelectorAll('[data-paint="retrying"]').length).toBeGreaterThan(0);
  });

  it('shows the download speed next to the write speed for a link', async () => {
    const { api } = await startFlashing();
    act(() => api.pushFlash({ type: 'progress', jobId: 'job-1', device: '/dev/sdb', progress: progress([], { download: { bytes: 120e6, speed: 11.2e6 } }) }));
    expect(screen.getByTestId('download-speed').textContent).toBe('Downloading 11.2 MB/s');
  });

  it('asks before cancelling while writing; "Keep flashing" keeps it going', async () => {
    const { api, user } = await startFlashing();
    await user.click(screen.getByRole('button', { name: 'Cancel' }));
    const ask = screen.getByRole('alertdialog', { name: 'Stop flashing?' });
    expect(ask.textContent).toMatch(/holds part of an image: it must not be used until it is flashed again/);
    expect(document.activeElement?.textContent).toBe('Keep flashing');
    await user.click(within(ask).getByRole('button', { name: 'Keep flashing' }));
    expect(api.calls.some((c) => c.method === 'cancel')).toBe(false);
    await user.click(screen.getByRole('button', { name: 'Cancel' }));
    await user.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Stop' }));
    expect(api.calls).toContainEqual({ method: 'cancel', args: ['job-1'] });
    expect(screen.getByTestId('phase').textContent).toBe('Cancelling…');
  });

  it('stops a verify at once: nothing is being written', async () => {
    const { api, user } = await startFlashing(undefined, 'verify');
    await user.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(api.calls).toContainEqual({ method: 'cancel', args: ['job-1'] });
  });
});

describe('the range map', () => {
  it('names a range and shows its block strip when picked with the keyboard; the legend names unmapped space', async () => {
    const { api, user } = await startFlashing();
    act(() => api.pushFlash({ type: 'progress', jobId: 'job-1', device: '/dev/sdb', progress: progress([{ index: 0, state: 'verified', retries: 0 }, { index: 1, state: 'writing', retries: 0, doneBytes: 4 * 4096 }]) }));
    const map = screen.getByTestId('range-map');
    act(() => map.focus());
    await user.keyboard('{ArrowRight}{ArrowRight}');
    expect(screen.getByTestId('range-info').textContent).toBe('Range 2 of 3: blocks 100–109, 41 kB, being written and read back 40%');
    expect(map.getAttribute('aria-valuetext')).toBe('Range 2 of 3: blocks 100–109, 41 kB, being written and read back 40%');
    const cells = within(screen.getByTestId('block-strip')).getAllByRole('listitem');
    expect(cells.map((c) => c.dataset.paint)).toEqual(['active', 'active', 'active', 'active', 'pending', 'pending', 'pending', 'pending', 'pending', 'pending']);
    await user.keyboard('{Home}');
    expect(screen.getByTestId('range-info').textContent).toBe('Range 1 of 3: blocks 0–9, 41 kB, verified');
    const legend = screen.getByRole('list', { name: 'Legend' });
    expect(legend.textContent).toMatch(/not mapped: left as it is/);
    expect(screen.getByTestId('map-coverage').textContent).toBe('3 ranges, 311.3 kB of 1 MB mapped (29.7%)');
  });

  it('names the blocks of a range under the mouse', async () => {
    await startFlashing();
    const map = screen.getByTestId('range-map');
    map.getBoundingClientRect = () => ({ left: 0, width: 256, top: 0, height: 40, right: 256, bottom: 40, x: 0, y: 0, toJSON: () => ({}) });
    fireEvent.mouseMove(map, { clientX: 210 });
    expect(screen.getByTestId('range-info').textContent).toBe('Range 3 of 3: blocks 200–255, 229.4 kB, not written yet');
  });
});

describe('several cards at once', () => {
  const cards = [drive({ device: '/dev/sdb', description: 'Card B' }), drive({ device: '/dev/sdc', description: 'Card C' }), drive({ device: '/dev/sdd', description: 'Card D' })];

  it('shows one tile per card; a card that fails turns into its verdict while the others go on', async () => {
    const { api } = await startFlashing(cards);
    act(() => api.pushFlash({ type: 'progress', jobId: 'job-1', device: '/dev/sdb', progress: progress([], { activity: { kind: 'rewriting', blocks: 2, range: 1 }, retries: 1 }) }));
    act(() => api.pushFlash({ type: 'progress', jobId: 'job-1', device: '/dev/sdc', progress: progress([]) }));
    const failed = report('failed', [{}, { state: 'failed', retries: 3, badBlocks: [{ first: 104, last: 104 }] }, {}], { target: { path: '/dev/sdd', size: 16e9, kind: 'block-device' }, error: { code: 'READBACK_MISMATCH', message: 'block 104 did not hold' } });
    act(() => api.pushFlash({ type: 'target-done', jobId: 'job-1', device: '/dev/sdd', report: failed }));
    const tiles = within(screen.getByRole('list', { name: 'Cards' })).getAllByRole('listitem');
    expect(tiles.map((t) => t.getAttribute('aria-label'))).toEqual(['/dev/sdb Card B', '/dev/sdc Card C', '/dev/sdd Card D']);
    expect(tiles[0]?.textContent).toMatch(/Rewriting 2 blocks50%.*Retries 1/);
    expect(tiles[1]?.textContent).toMatch(/Writing50%/);
    expect(tiles[2]?.textContent).toMatch(/FailedDo not use it/);
    expect(within(tiles[2] as HTMLElement).queryByRole('button', { name: /Stop/ })).toBeNull();
    expect(screen.getByTestId('phase').textContent).toBe('2 of 3 cards writing, 1 failed');
    expect(tiles[2]?.querySelector('.bar-fill')?.classList.contains('bar-failed')).toBe(true);
    // The bar counts the finished card as whole: (0.5 + 0.5 + 1) / 3.
    expect(screen.getByTestId('percent').textContent).toBe('66%');
  });

  it('stops one card after asking, naming it', async () => {
    const { api, user } = await startFlashing(cards);
    await user.click(screen.getByRole('button', { name: 'Stop /dev/sdc' }));
    const ask = screen.getByRole('alertdialog', { name: 'Stop flashing /dev/sdc?' });
    expect(ask.textContent).toMatch(/The other cards go on/);
    await user.click(within(ask).getByRole('button', { name: 'Stop' }));
    expect(api.calls).toContainEqual({ method: 'cancel', args: ['job-1', '/dev/sdc'] });
  });
});
