import { act, cleanup, fireEvent, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { ok } from '../../src/shared/result';
import { createFakeApi, drive, image } from './fake-api';
import { renderApp } from './render-app';

afterEach(cleanup);

async function picked(info = image(), drives = [drive({ device: '/dev/sdb' })]) {
  const api = createFakeApi(drives);
  api.pickResult = ok(info);
  const user = userEvent.setup();
  const view = renderApp(api);
  await user.click(await screen.findByRole('button', { name: 'Select image' }));
  return { api, user, view, details: await screen.findByLabelText('Image details') };
}

describe('image step', () => {
  it('shows the name in large type, size and format, what the bmap writes, and the bmap itself', async () => {
    const { details } = await picked();
    expect(within(details).getByTestId('image-name').textContent).toBe('os.img.zst');
    expect(details.textContent).toContain('2 GB · zstd, 300 MB file');
    expect(details.textContent).toContain('Writes 500 MB of it (25.0%)');
    expect(details.textContent).toContain('bmap 2.0, sha256 checksums');
    expect(screen.getByRole('button', { name: 'Change image' })).toBeTruthy();
  });

  it('keeps a long name on one line with the full name in its tooltip', async () => {
    const name = '2026-01-15-raspios-bookworm-arm64-lite-with-a-very-long-name.img.xz';
    const { details } = await picked(image({ name, path: `/srv/${name}` }));
    const shown = within(details).getByTestId('image-name');
    expect(shown.getAttribute('title')).toBe(name);
    expect(shown.textContent).toBe(name);
    // The extension stays in view when the name is cut in the middle.
    expect(shown.querySelector('.truncate-tail')?.textContent).toBe('name.img.xz');
  });

  it('lists the plain warnings of an image without a bmap', async () => {
    const { details } = await picked(image({ bmap: null, compression: 'xz', warnings: ['No bmap found: the whole image will be written'] }));
    const warnings = within(details).getByRole('list', { name: 'Image warnings' });
    expect([...warnings.querySelectorAll('li')].map((li) => li.textContent)).toEqual(['No bmap found: the whole image will be written']);
    expect(details.textContent).toContain('Writes all 2 GB: no block map');
  });

  it('says "Signed by …" and "Checksum matches" when main proved them, with the key and the checksum source only in the tooltip', async () => {
    const info = { ...image(), source: 'url', signature: { status: 'valid', signer: 'Raspberry Pi Foundation <releases@raspberrypi.com>', fingerprint: '54C3DD610D9D1B4AF82A37758738CD6B956F460C' }, checksum: { kind: 'sha256', status: 'matches', source: 'SHA256SUMS' } };
    const { details } = await picked(info as ReturnType<typeof image>);
    const trust = within(details).getByRole('list', { name: 'Authenticity' });
    expect([...trust.querySelectorAll('li')].map((li) => li.textContent)).toEqual(['Signed by Raspberry Pi Foundation', 'Checksum matches']);
    expect(trust.textContent).not.toMatch(/54C3DD61/);
    expect(trust.querySelector('li')?.getAttribute('title')).toMatch(/Key fingerprint 54C3DD610D9D1B4AF82A37758738CD6B956F460C/);
  });

  it('warns loudly when the signature or the checksum does not match', async () => {
    const info = { ...image(), signature: { status: 'invalid' }, checksum: { kind: 'sha256', status: 'mismatch' } };
    const { details } = await picked(info as ReturnType<typeof image>);
    expect(within(details).getByRole('list', { name: 'Authenticity' }).textContent).toMatch(/The signature does not match: do not use this image.*Checksum does not match: the image is damaged/);
  });

  it('names a key not in the trusted keyring, and the flash step says why the image cannot be flashed (Flash! off)', async () => {
    const info = { ...image(), source: 'url', signature: { status: 'unknown-key', signer: 'Someone Else <someone@example.test>', fingerprint: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01' }, checksum: { kind: 'sha256', status: 'pending', source: 'os.img.zst.sha256' } };
    const { details } = await picked(info as ReturnType<typeof image>);
    const trust = within(details).getByRole('list', { name: 'Authenticity' });
    expect([...trust.querySelectorAll('li')].map((li) => li.textContent)).toEqual(['Signed by Someone Else: a key you have not trusted', 'Checksum is checked while writing']);
    expect(details.textContent).not.toMatch(/ABCDEF0123/);
    const step = screen.getByTestId('flash-step');
    expect(step.textContent).toMatch(/This image cannot be flashed.*Its block map is signed by a key you have not trusted\./);
    expect((screen.getByRole('button', { name: 'Flash!' }) as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole('button', { name: 'Verify without writing' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('does not list the probe\'s checksum warning again under the trust line that says it', async () => {
    const info = { ...image(), source: 'url', signature: { status: 'unsigned' }, checksum: { kind: 'sha256', status: 'not-checked', source: 'SHA256SUMS' }, warnings: ['A sha256 is published but only the mapped parts are downloaded: the bmap checksums prove them instead'] };
    const { details } = await picked(info as ReturnType<typeof image>);
    expect([...within(details).getByRole('list', { name: 'Authenticity' }).querySelectorAll('li')].map((li) => li.textContent)).toEqual(['Not signed', "Checksum: the block map's checksums prove it instead"]);
    expect(within(details).queryByRole('list', { name: 'Image warnings' })).toBeNull();
  });

  it('opens a pasted link through probeImage', async () => {
    const api = createFakeApi();
    const user = userEvent.setup();
    renderApp(api);
    await user.type(await screen.findByRole('textbox', { name: 'Image link' }), 'https://example.org/os.img.xz');
    await user.click(screen.getByRole('button', { name: 'Open' }));
    expect(api.calls).toContainEqual({ method: 'probeImage', args: ['https://example.org/os.img.xz'] });
    expect((await screen.findByLabelText('Image details')).textContent).toContain('os.img.xz');
  });

  it('takes a dropped link', async () => {
    const api = createFakeApi();
    renderApp(api);
    const zone = await screen.findByTestId('drop-zone');
    const data = { files: [], getData: (type: string) => (type === 'text/uri-list' ? '# comment\r\nhttps://example.org/dropped.img.zst' : '') };
    await act(async () => {
      fireEvent.drop(zone, { dataTransfer: data });
    });
    expect(api.calls).toContainEqual({ method: 'probeImage', args: ['https://example.org/dropped.img.zst'] });
  });

  it('takes a dropped file through pathForFile and probes it', async () => {
    const api = createFakeApi();
    api.droppedPath = '/home/me/Downloads/raspios.img.xz';
    renderApp(api);
    const zone = await screen.findByTestId('drop-zone');
    const file = new File(['x'], 'raspios.img.xz');
    fireEvent.dragOver(zone, { dataTransfer: { files: [file] } });
    expect(zone.className).toContain('drop-over');
    await act(async () => {
      fireEvent.drop(zone, { dataTransfer: { files: [file] } });
    });
    expect(api.calls).toContainEqual({ method: 'probeImage', args: ['/home/me/Downloads/raspios.img.xz'] });
    expect((await screen.findByLabelText('Image details')).textContent).toContain('raspios.img.xz');
    expect(zone.className).not.toContain('drop-over');
  });

  it('says why a drop cannot be used where the host cannot locate files', async () => {
    renderApp(createFakeApi());
    const zone = await screen.findByTestId('drop-zone');
    await act(async () => {
      fireEvent.drop(zone, { dataTransfer: { files: [new File(['x'], 'os.img')] } });
    });
    expect(screen.getByRole('alert').textContent).toMatch(/Cannot tell where "os\.img" is stored.*Select image/);
  });
});

describe('a file that is not a disk image', () => {
  const notDisk = image({
    path: '/home/me/notes.txt',
    name: 'notes.txt',
    fileSize: 5,
    imageSize: 5,
    compression: 'none',
    bmap: null,
    diskSignature: null,
    warnings: ['This file does not look like a disk image: no partition table or filesystem was found at its start.'],
  });

  it('warns before flashing and lets the user go on', async () => {
    const { user, api, details } = await picked(notDisk);
    expect(details.textContent).toMatch(/does not look like a disk image/);
    await user.click(screen.getByRole('button', { name: 'Flash!' }));
    const ask = screen.getByRole('alertdialog', { name: 'Flash /dev/sdb?' });
    expect(ask.textContent).toMatch(/This file does not look like a disk image/);
    expect(api.flashRequests).toHaveLength(0);
    await user.click(within(ask).getByRole('button', { name: 'Yes, flash /dev/sdb' }));
    expect(api.flashRequests).toHaveLength(1);
  });

  it('asks also when only diskSignature says so (no warning text)', async () => {
    const { user } = await picked({ ...notDisk, warnings: [] });
    await user.click(screen.getByRole('button', { name: 'Flash!' }));
    expect(screen.getByRole('alertdialog').textContent).toMatch(/notes\.txt does not look like a disk image/);
  });

  it('does not ask for a disk image, nor when main did not look (older main: no diskSignature)', async () => {
    const { user, api } = await picked(image({ diskSignature: 'gpt' }));
    await user.click(screen.getByRole('button', { name: 'Flash!' }));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(api.flashRequests).toHaveLength(1);
  });
});
