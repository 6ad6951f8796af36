import { act, cleanup, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeApi, drive, image } from './fake-api';
import { renderApp } from './render-app';

afterEach(cleanup);

const drives = [
  drive({ device: '/dev/sdb', description: 'SanDisk Ultra', size: 32e9 }),
  drive({ device: '/dev/sdc', description: 'Locked card', isReadOnly: true }),
  drive({ device: '/dev/sdd', description: 'Tiny stick', size: 1e9, isCard: false, isUSB: true }),
  drive({ device: '/dev/nvme0n1', description: 'Samsung SSD', size: 1e12, isSystem: true, isRemovable: false, isCard: false, mountpoints: ['/'] }),
  drive({ device: '/dev/sde', description: 'Backup disk', size: 2e12, isCard: false, isUSB: true }),
];

async function openPicker(imageSize = 2e9) {
  const api = createFakeApi(drives);
  api.pickResult = { ok: true, value: image({ path: '/srv/os.img', imageSize, bmap: null, compression: 'none' }) };
  const user = userEvent.setup();
  const view = renderApp(api);
  await user.click(await screen.findByRole('button', { name: 'Select image' }));
  await screen.findByLabelText('Image details');
  await user.click(screen.getByRole('button', { name: 'Select target' }));
  return { api, user, view, dialog: await screen.findByRole('dialog', { name: 'Select target' }) };
}

describe('drive picker', () => {
  it('lists drives by device path with size and badges, disabled ones with their reason', async () => {
    const { dialog } = await openPicker();
    const sdb = within(dialog).getByRole('option', { name: /\/dev\/sdb/ });
    expect(sdb.textContent).toMatch(/SanDisk Ultra.*32 GB.*SD card/);
    expect(sdb.getAttribute('aria-disabled')).toBe('false');
    const locked = within(dialog).getByRole('option', { name: /\/dev\/sdc/ });
    expect(locked.getAttribute('aria-disabled')).toBe('true');
    expect(locked.textContent).toMatch(/Read-only: the drive is write-protected/);
    const tiny = within(dialog).getByRole('option', { name: /\/dev\/sdd/ });
    expect(tiny.getAttribute('aria-disabled')).toBe('true');
    expect(tiny.textContent).toMatch(/Too small: 1 GB drive, 2 GB image/);
  });

  it('hides system drives until "Show hidden", then shows them with a warning', async () => {
    const { user, dialog } = await openPicker();
    expect(within(dialog).queryByRole('option', { name: /nvme0n1/ })).toBeNull();
    expect(within(dialog).getByText(/1 system drive/)).toBeTruthy();
    await user.click(within(dialog).getByRole('checkbox', { name: /Show hidden/ }));
    const system = within(dialog).getByRole('option', { name: /nvme0n1/ });
    expect(system.textContent).toMatch(/System drive: writing to it erases your operating system/);
    expect(within(dialog).getByRole('note').textContent).toMatch(/System drives hold your operating system/);
  });

  it('does not let a disabled drive be chosen; a good one is confirmed with Select', async () => {
    const { user, dialog, store } = await openPicker().then((r) => ({ ...r, store: r.view.store }));
    await user.click(within(dialog).getByRole('option', { name: /\/dev\/sdc/ }));
    expect((within(dialog).getByRole('button', { name: 'Select' }) as HTMLButtonElement).disabled).toBe(true);
    await user.click(within(dialog).getByRole('option', { name: /\/dev\/sdb/ }));
    await user.click(within(dialog).getByRole('button', { name: 'Select' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(store.getState().device).toBe('/dev/sdb');
    expect(screen.getByLabelText('Chosen target').textContent).toMatch(/\/dev\/sdb, 32 GB/);
  });

  it('is keyboard driven: focus starts inside, arrows and Space choose, Esc closes without choosing', async () => {
    const { user, dialog, view } = await openPicker();
    expect(dialog.contains(document.activeElement)).toBe(true);
    await user.keyboard('{ArrowDown}{ArrowDown}');
    expect(document.activeElement?.textContent).toMatch(/\/dev\/sdd/);
    await user.keyboard('{ArrowUp}{ArrowUp} ');
    expect(within(dialog).getByRole('option', { name: /\/dev\/sdb/ }).getAttribute('aria-selected')).toBe('true');
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(view.store.getState().device).toBeNull();
  });

  it('keeps Tab inside the dialog', async () => {
    const { user, dialog } = await openPicker();
    for (let i = 0; i < 8; i += 1) {
      await user.tab();
      expect(dialog.contains(document.activeElement)).toBe(true);
    }
  });

  it('asks before flashing a large drive and sends the acknowledgement', async () => {
    const { user, dialog, api, view } = await openPicker();
    await user.click(within(dialog).getByRole('option', { name: /\/dev\/sde/ }));
    await user.click(within(dialog).getByRole('button', { name: 'Select' }));
    await user.click(screen.getByRole('button', { name: 'Flash!' }));
    const confirm = await screen.findByRole('dialog', { name: 'Flash /dev/sde?' });
    expect(confirm.textContent).toMatch(/Unusually large \(2 TB\)/);
    expect(api.flashRequests).toHaveLength(0);
    await user.click(within(confirm).getByRole('button', { name: /Yes, flash \/dev\/sde/ }));
    expect(api.flashRequests[0]?.acknowledged).toEqual(['LARGE']);
    expect(view.store.getState().screen).toBe('flashing');
  });

  it('flashes a plain card without asking', async () => {
    const { user, dialog, api } = await openPicker();
    await user.click(within(dialog).getByRole('option', { name: /\/dev\/sdb/ }));
    await user.click(within(dialog).getByRole('button', { name: 'Select' }));
    await user.click(screen.getByRole('button', { name: 'Flash!' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(api.flashRequests[0]).toMatchObject({ devices: ['/dev/sdb'], readback: true, retries: 3, acknowledged: [] });
  });

  it('drops a drive that vanishes while the dialog is open', async () => {
    const { api, user, dialog } = await openPicker();
    await user.click(within(dialog).getByRole('option', { name: /\/dev\/sdb/ }));
    act(() => api.pushDrives(drives.filter((d) => d.device !== '/dev/sdb')));
    expect(within(dialog).queryByRole('option', { name: /\/dev\/sdb/ })).toBeNull();
    expect((within(dialog).getByRole('button', { name: 'Select' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('lets a shown system drive be chosen, then asks before flashing it', async () => {
    const api = createFakeApi([drive({ device: '/dev/sda', description: 'Internal disk', size: 64e9, isSystem: true, isCard: false, mountpoints: ['/home'] })]);
    api.pickResult = { ok: true, value: image({ path: '/srv/os.img' }) };
    const user = userEvent.setup();
    renderApp(api);
    await user.click(await screen.findByRole('button', { name: 'Select image' }));
    await screen.findByLabelText('Image details');
    await user.click(screen.getByRole('button', { name: 'Select target' }));
    const dialog = screen.getByRole('dialog', { name: 'Select target' });
    await user.click(within(dialog).getByRole('checkbox', { name: /Show hidden/ }));
    await user.click(within(dialog).getByRole('option', { name: /\/dev\/sda/ }));
    await user.click(within(dialog).getByRole('button', { name: 'Select' }));
    await user.click(screen.getByRole('button', { name: 'Flash!' }));
    const confirm = screen.getByRole('dialog', { name: 'Flash /dev/sda?' });
    expect(confirm.textContent).toMatch(/System drive: writing to it erases your operating system/);
    // Focus starts on Cancel, the safe choice.
    expect(document.activeElement?.textContent).toBe('Cancel');
    await user.keyboard('{Escape}');
    expect(api.flashRequests).toHaveLength(0);
    await user.click(screen.getByRole('button', { name: 'Flash!' }));
    await user.click(within(screen.getByRole('dialog', { name: 'Flash /dev/sda?' })).getByRole('button', { name: /Yes, flash/ }));
    expect(api.flashRequests[0]?.acknowledged).toEqual(['SYSTEM_DRIVE']);
  });
});
