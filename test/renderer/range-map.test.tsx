import { act, cleanup, fireEvent, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { FlashProgress } from '../../src/shared/report';
import { layout } from './fake-api';
import { startFlashing } from './render-app';

afterEach(cleanup);

const progress = (changes: FlashProgress['rangeChanges'], retries: number): FlashProgress => ({
  phase: 'verifying',
  bytesDone: layout.mappedBytes / 2,
  bytesTotal: layout.mappedBytes,
  speed: 20e6,
  etaSeconds: 75,
  retries,
  rangeChanges: changes,
});

const cells = () => within(screen.getByTestId('range-map')).getAllByRole('img');

describe('progress phase', () => {
  it('says the data is read back while it is written (readback on), and plain Writing when off', async () => {
    const { api, view } = await startFlashing();
    act(() => api.pushFlash({ type: 'progress', jobId: 'job-1', device: '/dev/sdb', progress: { ...progress([], 0), phase: 'writing' } }));
    expect(screen.getByTestId('phase').textContent).toBe('Writing and reading back');
    act(() => view.store.setState((s) => ({ settings: { ...s.settings, readback: false } })));
    expect(screen.getByTestId('phase').textContent).toBe('Writing');
  });
});

describe('range map', () => {
  it('draws each range at its place in the image, in proportion to its bytes', async () => {
    await startFlashing();
    const [first, second, third] = cells();
    expect(first?.style.left).toBe('0%');
    expect(second?.style.left).toBe(`${(100 / 256) * 100}%`);
    expect(third?.style.width).toBe(`${(56 / 256) * 100}%`);
    expect(cells().map((c) => c.dataset.state)).toEqual(['pending', 'pending', 'pending']);
  });

  it('colours ranges from progress events and moves the retry counter', async () => {
    const { api } = await startFlashing();
    act(() =>
      api.pushFlash({
        type: 'progress',
        jobId: 'job-1',
        device: '/dev/sdb',
        progress: progress([
          { index: 0, state: 'verified', retries: 0 },
          { index: 1, state: 'retrying', retries: 2 },
          { index: 2, state: 'writing', retries: 0 },
        ], 2),
      }),
    );
    expect(cells().map((c) => c.className)).toEqual(['range range-verified', 'range range-retrying', 'range range-writing']);
    expect(screen.getByLabelText('Retries: 2').textContent).toBe('2');
    expect(screen.getByTestId('percent').textContent).toMatch(/^50%/);
    expect(screen.getByText('20.0 MB/s')).toBeTruthy();
    expect(screen.getByText('1 min 15 s')).toBeTruthy();
    act(() => api.pushFlash({ type: 'progress', jobId: 'job-1', device: '/dev/sdb', progress: progress([{ index: 1, state: 'failed', retries: 3 }], 3) }));
    expect(cells()[1]?.dataset.state).toBe('failed');
    expect(screen.getByLabelText('Retries: 3')).toBeTruthy();
  });

  it('names the blocks of a range on hover and on keyboard focus', async () => {
    const { user } = await startFlashing();
    const info = screen.getByTestId('range-info');
    fireEvent.mouseEnter(cells()[2] as HTMLElement);
    expect(info.textContent).toBe('Range 3: blocks 200–255, 229.4 kB, pending');
    // One tab stop for the whole map; arrows walk it.
    act(() => cells()[0]?.focus());
    expect(info.textContent).toMatch(/^Range 1: blocks 0–9/);
    await user.keyboard('{ArrowRight}');
    expect(document.activeElement).toBe(cells()[1]);
    expect(info.textContent).toMatch(/^Range 2: blocks 100–109/);
    expect(cells().filter((c) => c.tabIndex === 0)).toEqual([cells()[1]]);
    expect(cells()[1]?.getAttribute('aria-label')).toMatch(/blocks 100–109/);
  });

  it('cancels the running job', async () => {
    const { api, user } = await startFlashing();
    await user.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(api.calls).toContainEqual({ method: 'cancel', args: ['job-1'] });
  });
});
