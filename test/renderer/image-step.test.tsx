import { act, cleanup, fireEvent, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { ok } from '../../src/shared/result';
import { createFakeApi, image } from './fake-api';
import { renderApp } from './render-app';

afterEach(cleanup);

describe('image step', () => {
  it('shows name, size, compression and the bmap: version, checksum type, mapped bytes and share', async () => {
    const api = createFakeApi();
    const user = userEvent.setup();
    renderApp(api);
    await user.click(await screen.findByRole('button', { name: 'Select image' }));
    const details = await screen.findByLabelText('Image details');
    expect(details.textContent).toContain('os.img.zst');
    expect(details.textContent).toContain('2 GB, 300 MB on disk');
    expect(details.textContent).toContain('zstd');
    expect(details.textContent).toContain('bmap 2.0, sha256 checksums, 500 MB mapped (25.0% of the image)');
    expect(screen.getByRole('button', { name: 'Change image' })).toBeTruthy();
  });

  it('lists the plain warnings of an image without a bmap', async () => {
    const api = createFakeApi();
    api.pickResult = ok(image({ bmap: null, compression: 'xz', warnings: ['No bmap: the whole image is written', 'Size unknown until decompressed'] }));
    const user = userEvent.setup();
    renderApp(api);
    await user.click(await screen.findByRole('button', { name: 'Select image' }));
    const warnings = await screen.findByRole('list', { name: 'Image warnings' });
    expect([...warnings.querySelectorAll('li')].map((li) => li.textContent)).toEqual([
      'No bmap: the whole image is written',
      'Size unknown until decompressed',
    ]);
    expect(screen.getByLabelText('Image details').textContent).toContain('none found');
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
