import { act, cleanup, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeApi, drive, image } from './fake-api';
import { renderApp } from './render-app';

afterEach(cleanup);

const drives = [
  drive({ device: '/dev/sdb', description: 'SanDisk Ultra', size: 32e9, location: '/sys/devices/pci0000:00/usb1/1-1/1-1.2' }),
  drive({ device: '/dev/sdc', description: 'Locked card', isReadOnly: true }),
  drive({ device: '/dev/sdd', description: 'Tiny stick', size: 1e9, isCard: false, isUSB: true }),
  drive({ device: '/dev/vda', description: '0x1af4', size: 275e9, isSystem: true, isRemovable: false, isCard: false, busType: 'UNKNOWN', mountpoints: ['/'] }),
  drive({ device: '/dev/sde', description: 'Backup disk', size: 2e12, isCard: false, isUSB: true }),
  drive({ device: '/dev/sdf', description: 'Kingston Canvas', size: 64e9, mountpoints: ['/media/me/boot'] }),
  drive({ device: '/dev/loop7', description: 'Loop device (card.img)', size: 64e6 * 64, isLoop: true, isVirtual: true, isCard: false, busType: 'LOOP' }),
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

const box = (dialog: HTMLElement, device: string) => within(dialog).getByRole('checkbox', { name: new RegExp(`^${device.replace(/\//g, '\\/')} `) }) as HTMLInputElement;
const row = (dialog: HTMLElement, device: string) => box(dialog, device).closest('li') as HTMLElement;

describe('drive picker', () => {
  it('lists each drive as a checkbox named with its device path: name, size, bus and port, mount points, badges', async () => {
    const { dialog } = await openPicker();
    expect(box(dialog, '/dev/sdb').getAttribute('aria-label')).toBe('/dev/sdb SanDisk Ultra, 32 GB');
    expect(row(dialog, '/dev/sdb').textContent).toMatch(/SanDisk Ultra32 GB\/dev\/sdb · USB, port 1-1\.2SD card/);
    expect(row(dialog, '/dev/sdf').textContent).toMatch(/mounted at \/media\/me\/boot.*In use/);
    expect(row(dialog, '/dev/loop7').textContent).not.toMatch(/Removable/);
    expect(within(row(dialog, '/dev/loop7')).getByText('Loop')).toBeTruthy();
    expect(row(dialog, '/dev/sde').textContent).toMatch(/Large.*Unusually large \(2 TB\)/);
  });

  it('disables drives that cannot be flashed, with the reason', async () => {
    const { dialog } = await openPicker();
    expect(box(dialog, '/dev/sdc').disabled).toBe(true);
    expect(row(dialog, '/dev/sdc').textContent).toMatch(/Read-only.*Read-only: the drive is write-protected/);
    expect(box(dialog, '/dev/sdd').disabled).toBe(true);
    expect(row(dialog, '/dev/sdd').textContent).toMatch(/Too small: 1 GB drive, 2 GB image/);
  });

  it('hides system drives until "Show hidden", then names the system disk instead of its vendor id', async () => {
    const { user, dialog } = await openPicker();
    expect(within(dialog).queryByRole('checkbox', { name: /^\/dev\/vda / })).toBeNull();
    expect(within(dialog).getByText(/1 system drive/)).toBeTruthy();
    await user.click(within(dialog).getByRole('checkbox', { name: /Show hidden/ }));
    expect(box(dialog, '/dev/vda').getAttribute('aria-label')).toBe('/dev/vda System disk (virtio), 275 GB');
    expect(row(dialog, '/dev/vda').textContent).not.toMatch(/0x1af4/);
    expect(row(dialog, '/dev/vda').textContent).toMatch(/System.*System drive: writing to it erases your operating system/);
    expect(within(dialog).getByRole('note').textContent).toMatch(/System drives hold your operating system/);
  });

  it('chooses several drives, shows their total, and confirms with Select', async () => {
    const { user, dialog, view } = await openPicker();
    await user.click(box(dialog, '/dev/sdb'));
    await user.click(box(dialog, '/dev/sdf'));
    expect(within(dialog).getByText('2 drives, 96 GB in all')).toBeTruthy();
    await user.click(within(dialog).getByRole('button', { name: 'Select' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(view.store.getState().devices).toEqual(['/dev/sdb', '/dev/sdf']);
    const target = screen.getByLabelText('Chosen target');
    expect(target.textContent).toMatch(/2 cards96 GB in all\/dev\/sdb, \/dev\/sdf/);
    // Mounted targets: said before flashing.
    expect(target.textContent).toMatch(/\/dev\/sdf: Mounted at \/media\/me\/boot: it will be unmounted before writing\./);
  });

  it('does not let a disabled drive be chosen: Select stays off', async () => {
    const { user, dialog } = await openPicker();
    await user.click(box(dialog, '/dev/sdc'));
    expect(box(dialog, '/dev/sdc').checked).toBe(false);
    expect((within(dialog).getByRole('button', { name: 'Select' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('is keyboard driven: focus starts inside, Tab stays inside, Space checks, Esc closes without choosing', async () => {
    const { user, dialog, view } = await openPicker();
    expect(dialog.contains(document.activeElement)).toBe(true);
    expect(document.activeElement).toBe(box(dialog, '/dev/sdb'));
    await user.keyboard(' ');
    expect(box(dialog, '/dev/sdb').checked).toBe(true);
    for (let i = 0; i < 12; i += 1) {
      await user.tab();
      expect(dialog.contains(document.activeElement)).toBe(true);
    }
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(view.store.getState().devices).toEqual([]);
  });

  it('asks before flashing a large drive and sends the acknowledgement', async () => {
    const { user, dialog, api, view } = await openPicker();
    await user.click(box(dialog, '/dev/sde'));
    await user.click(within(dialog).getByRole('button', { name: 'Select' }));
    await user.click(screen.getByRole('button', { name: 'Flash!' }));
    const confirm = await screen.findByRole('alertdialog', { name: 'Flash /dev/sde?' });
    expect(confirm.textContent).toMatch(/Unusually large \(2 TB\).*Everything on \/dev\/sde will be erased\./);
    expect(api.flashRequests).toHaveLength(0);
    await user.click(within(confirm).getByRole('button', { name: 'Yes, flash /dev/sde' }));
    expect(api.flashRequests[0]?.acknowledged).toEqual(['LARGE']);
    expect(view.store.getState().screen).toBe('flashing');
  });

  it('flashes a plain card without asking', async () => {
    const { user, dialog, api } = await openPicker();
    await user.click(box(dialog, '/dev/sdb'));
    await user.click(within(dialog).getByRole('button', { name: 'Select' }));
    await user.click(screen.getByRole('button', { name: 'Flash!' }));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(api.flashRequests[0]).toMatchObject({ devices: ['/dev/sdb'], readback: true, retries: 3, acknowledged: [] });
  });

  it('drops a drive that vanishes while the dialog is open', async () => {
    const { api, user, dialog } = await openPicker();
    await user.click(box(dialog, '/dev/sdb'));
    act(() => api.pushDrives(drives.filter((d) => d.device !== '/dev/sdb')));
    expect(within(dialog).queryByRole('checkbox', { name: /^\/dev\/sdb / })).toBeNull();
    expect((within(dialog).getByRole('button', { name: 'Select' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('lets a shown system drive be chosen, then asks before flashing it, Cancel first', async () => {
    const api = createFakeApi([drive({ device: '/dev/sda', description: 'Internal disk', size: 64e9, isSystem: true, isCard: false, mountpoints: ['/home'] })]);
    api.pickResult = { ok: true, value: image({ path: '/srv/os.img' }) };
    const user = userEvent.setup();
    renderApp(api);
    await user.click(await screen.findByRole('button', { name: 'Select image' }));
    await screen.findByLabelText('Image details');
    await user.click(screen.getByRole('button', { name: 'Select target' }));
    const dialog = screen.getByRole('dialog', { name: 'Select target' });
    await user.click(within(dialog).getByRole('checkbox', { name: /Show hidden/ }));
    await user.click(box(dialog, '/dev/sda'));
    await user.click(within(dialog).getByRole('button', { name: 'Select' }));
    await user.click(screen.getByRole('button', { name: 'Flash!' }));
    const confirm = screen.getByRole('alertdialog', { name: 'Flash /dev/sda?' });
    expect(confirm.textContent).toMatch(/System drive: writing to it erases your operating system/);
    expect(document.activeElement?.textContent).toBe('Cancel');
    await user.keyboard('{Escape}');
    expect(api.flashRequests).toHaveLength(0);
    await user.click(screen.getByRole('button', { name: 'Flash!' }));
    await user.click(within(screen.getByRole('alertdialog', { name: 'Flash /dev/sda?' })).getByRole('button', { name: /Yes, flash/ }));
    expect(api.flashRequests[0]?.acknowledged).toEqual(['SYSTEM_DRIVE']);
  });

  it('chooses the only eligible card by itself and says why', async () => {
    const api = createFakeApi([drive({ device: '/dev/sdb', description: 'SanDisk Ultra' }), drive({ device: '/dev/vda', description: '0x1af4', isSystem: true, isCard: false })]);
    const user = userEvent.setup();
    const view = renderApp(api);
    await user.click(await screen.findByRole('button', { name: 'Select image' }));
    await screen.findByLabelText('Image details');
    expect(view.store.getState().devices).toEqual(['/dev/sdb']);
    expect(screen.getByLabelText('Chosen target').textContent).toMatch(/SanDisk Ultra.*Chosen for you: the only card or stick connected that can take this image\./);
  });
});
