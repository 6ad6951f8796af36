import { act, cleanup, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfirmRequest } from '../../src/shared/api';
import { createFakeApi, drive } from './fake-api';
import { renderApp } from './render-app';

afterEach(cleanup);

const question = (id: string): ConfirmRequest => ({
  id,
  title: 'Erase drive?',
  message: 'Erase SanDisk Ultra (/dev/sdb, 32 GB) and write os.img?',
  detail: 'Everything on this drive will be lost.',
  confirmLabel: 'Erase and flash',
  danger: true,
});

describe('the question main asks in the page', () => {
  it('shows main\'s words with "Cancel" focused, and answers yes once', async () => {
    const api = createFakeApi([drive({ device: '/dev/sdb' })]);
    const user = userEvent.setup();
    renderApp(api);
    act(() => api.pushConfirm(question('q1')));
    const dialog = await screen.findByRole('dialog', { name: 'Erase drive?' });
    expect(dialog.textContent).toContain('Erase SanDisk Ultra (/dev/sdb, 32 GB) and write os.img?');
    expect(dialog.textContent).toContain('Everything on this drive will be lost.');
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Cancel' }));
    await user.click(within(dialog).getByRole('button', { name: 'Erase and flash' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(api.calls.filter((c) => c.method === 'answerConfirm')).toEqual([{ method: 'answerConfirm', args: ['q1', true] }]);
  });

  it('answers no with Cancel or Esc, one question after the other', async () => {
    const api = createFakeApi();
    const user = userEvent.setup();
    renderApp(api);
    act(() => {
      api.pushConfirm(question('q1'));
      api.pushConfirm(question('q2'));
    });
    await user.click(within(await screen.findByRole('dialog', { name: 'Erase drive?' })).getByRole('button', { name: 'Cancel' }));
    await screen.findByRole('dialog', { name: 'Erase drive?' });
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(api.calls.filter((c) => c.method === 'answerConfirm').map((c) => c.args)).toEqual([
      ['q1', false],
      ['q2', false],
    ]);
  });

  it('goes away when the flash call it belongs to is over (e.g. it timed out in main)', async () => {
    const api = createFakeApi([drive({ device: '/dev/sdb' })]);
    api.flashResult = { ok: false, error: { code: 'NOT_CONFIRMED', message: 'Not confirmed: nothing was written to /dev/sdb.' } };
    const user = userEvent.setup();
    const { store } = renderApp(api);
    await user.click(await screen.findByRole('button', { name: 'Select image' }));
    await screen.findByLabelText('Image details');
    store.getState().selectDevices(['/dev/sdb']);
    act(() => api.pushConfirm(question('q1')));
    await screen.findByRole('dialog', { name: 'Erase drive?' });
    await act(() => store.getState().flash([]));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect((await screen.findByRole('alert')).textContent).toContain('The drive was not touched.');
  });
});
