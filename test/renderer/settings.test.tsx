import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { act, cleanup, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeApi } from './fake-api';
import { renderApp } from './render-app';

afterEach(() => {
  cleanup();
  delete document.documentElement.dataset.theme;
});

async function openSettings() {
  const api = createFakeApi();
  const user = userEvent.setup();
  const view = renderApp(api);
  await user.click(await screen.findByRole('button', { name: 'Settings' }));
  return { api, user, view, dialog: screen.getByRole('dialog', { name: 'Settings' }) };
}

describe('settings', () => {
  it('has a control for every setting, each saved at once', async () => {
    const { api, user, dialog } = await openSettings();
    const retries = within(dialog).getByRole('spinbutton', { name: 'Retries' });
    await user.clear(retries);
    await user.type(retries, '5');
    expect(api.calls).toContainEqual({ method: 'setSettings', args: [{ retries: 5 }] });
    const toggles: [string, string][] = [
      ['Read back and verify', 'readback'],
      ['Check capacity', 'probe'],
      ['Only write what differs', 'skipIdentical'],
      ['Eject when verified', 'eject'],
      ['Notify when done', 'notifications'],
    ];
    for (const [label, key] of toggles) {
      const box = within(dialog).getByRole('checkbox', { name: label }) as HTMLInputElement;
      const before = box.checked;
      await user.click(box);
      expect(api.calls).toContainEqual({ method: 'setSettings', args: [{ [key]: !before }] });
    }
    await user.click(within(dialog).getByRole('radio', { name: 'Dark' }));
    expect(api.calls).toContainEqual({ method: 'setSettings', args: [{ theme: 'dark' }] });
    expect(document.documentElement.dataset.theme).toBe('dark');
  });

  it('refuses retries out of range visibly and saves nothing', async () => {
    const { api, user, dialog, view } = await openSettings();
    const retries = within(dialog).getByRole('spinbutton', { name: 'Retries' });
    await user.clear(retries);
    await user.type(retries, '42');
    expect(within(dialog).getByRole('alert').textContent).toBe('Retries must be a whole number from 0 to 10.');
    expect(retries.getAttribute('aria-invalid')).toBe('true');
    expect(api.calls.filter((c) => c.method === 'setSettings').map((c) => c.args[0])).not.toContainEqual({ retries: 42 });
    expect(view.store.getState().settings.retries).not.toBe(42);
  });

  it('sets the download cache limit in GiB (0 keeps none), and refuses values out of range visibly', async () => {
    const { api, user, dialog, view } = await openSettings();
    const cache = within(dialog).getByRole('spinbutton', { name: 'Download cache (GiB)' }) as HTMLInputElement;
    expect(cache.value).toBe('8');
    await user.clear(cache);
    await user.type(cache, '2');
    expect(api.calls).toContainEqual({ method: 'setSettings', args: [{ cacheLimitBytes: 2 * 1024 ** 3 }] });
    await user.clear(cache);
    await user.type(cache, '0');
    expect(api.calls).toContainEqual({ method: 'setSettings', args: [{ cacheLimitBytes: 0 }] });
    await user.clear(cache);
    await user.type(cache, '5000');
    expect(within(dialog).getByRole('alert').textContent).toBe('The download cache takes 0 to 1024 GiB (0 keeps no downloads).');
    expect(cache.getAttribute('aria-invalid')).toBe('true');
    expect(api.calls.filter((c) => c.method === 'setSettings').map((c) => c.args[0])).not.toContainEqual({ cacheLimitBytes: 5000 * 1024 ** 3 });
    // Typed a digit at a time: 500 GiB was a valid value on the way, 5000 is never saved.
    expect(view.store.getState().settings.cacheLimitBytes).toBe(500 * 1024 ** 3);
  });

  it('shows the settings main answers with, even when they arrive after the dialog opened', async () => {
    const api = createFakeApi();
    let answer: (value: unknown) => void = () => undefined;
    const slow = new Promise((resolve) => (answer = resolve));
    const getSettings = api.getSettings.bind(api);
    api.getSettings = async () => {
      await slow;
      const result = await getSettings();
      return result.ok ? { ok: true as const, value: { ...result.value, retries: 7, cacheLimitBytes: 2 * 1024 ** 3 } } : result;
    };
    const user = userEvent.setup();
    renderApp(api);
    await user.click(await screen.findByRole('button', { name: 'Settings' }));
    const dialog = screen.getByRole('dialog', { name: 'Settings' });
    expect((within(dialog).getByRole('spinbutton', { name: 'Retries' }) as HTMLInputElement).value).toBe('3');
    await act(async () => answer(null));
    expect((within(dialog).getByRole('spinbutton', { name: 'Retries' }) as HTMLInputElement).value).toBe('7');
    expect((within(dialog).getByRole('spinbutton', { name: 'Download cache (GiB)' }) as HTMLInputElement).value).toBe('2');
  });

  it('turns retries off with read back, as they only apply to blocks read back', async () => {
    const { user, dialog } = await openSettings();
    await user.click(within(dialog).getByRole('checkbox', { name: 'Read back and verify' }));
    expect((within(dialog).getByRole('spinbutton', { name: 'Retries' }) as HTMLInputElement).disabled).toBe(true);
    await user.click(within(dialog).getByRole('button', { name: 'Done' }));
    expect(screen.getByText(/Not read back: nothing will prove the card holds the image/)).toBeTruthy();
  });
});

describe('about', () => {
  it('shows the version, what "Verified" means, and where data, log and reports are', async () => {
    const api = createFakeApi();
    const user = userEvent.setup();
    renderApp(api);
    await user.click(await screen.findByRole('button', { name: 'About' }));
    const dialog = screen.getByRole('dialog', { name: 'About Sureflash' });
    expect(within(dialog).getByTestId('about-version').textContent).toBe('Version 0.1.0 · linux');
    expect(dialog.textContent).toMatch(/reads every written block back from the card itself — not from a cache — after the card was told to flush/);
    expect(dialog.textContent).toMatch(/A last pass reads again after the final flush/);
    expect(dialog.textContent).toMatch(/"Check capacity" first proves the card is as large as it claims/);
    expect(dialog.textContent).toMatch(/Settings and data\/home\/user\/\.config\/sureflash/);
    expect(dialog.textContent).toMatch(/LogNot written to a file/);
  });
});

describe('focus ring', () => {
  it('is never the colour of "retrying"', async () => {
    const css = readFileSync(join(process.cwd(), 'src/renderer/styles/theme.css'), 'utf8');
    const value = (name: string, block: string): string | undefined => new RegExp(`--${name}:\\s*([^;]+);`).exec(block)?.[1]?.trim();
    const blocks = css.split(/\n(?=html|@media)/);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const block of blocks) {
      const focus = value('focus', block);
      if (!focus) continue;
      expect(focus).not.toBe(value('retrying', block));
      expect(focus).not.toBe(value('warning', block));
    }
  });
});
