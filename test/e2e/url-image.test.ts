/**
 * Images from the web through the real UI in Chromium, served by the loopback test server: a link pasted
 * into the image step or dropped on it, "Signed by …" from a key in the app's keyring (gpgv's trustedkeys
 * under GNUPGHOME), a key that is not trusted and a signature that does not match (shown, and Flash! is
 * not offered), the download speed next to the write speed while flashing, the published checksum checked
 * (at the end of a download that does not match it, too) and the download cache's copy reused, the cache
 * limit in Settings (0 keeps nothing), a link the server does not have, and a local image whose checksum
 * does not match. Root only (loop devices).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, promises as fsp, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { artifactPath } from '../helpers/browser';
import { connectHostApi } from '../helpers/host-api';
import { TestHttpServer } from '../helpers/http-server';
import { attachLoop, readDirect } from '../helpers/loop';
import { detachSign, makeKey, type TestKey } from '../helpers/pgp-keys';
import { describeRoot } from '../helpers/root';
import { layoutProblems } from './layout-check';
import { chooseTargets, expectMappedBlocksEqual, MiB, useUiHarness, type BlockRange } from './ui-harness';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The lines of the image step's "Authenticity" list. */
async function trustLines(page: Page): Promise<string[]> {
  const list = page.getByLabel('Image details').getByRole('list', { name: 'Authenticity' });
  await list.waitFor();
  return (await list.locator('li').allTextContents()).map((t) => t.trim());
}

/**
 * Types a link into the image step, opens it, and waits until main's answer is shown: the server saw the
 * probe (its last request is for the sha256 sidecar) and the step is no longer reading.
 */
async function openLink(page: Page, server: TestHttpServer, path: string): Promise<void> {
  const before = server.requestsFor(`${path}.sha256`).length;
  await page.getByRole('textbox', { name: 'Image link' }).fill(server.url(path));
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  await expect.poll(() => server.requestsFor(`${path}.sha256`).length, { timeout: 30_000 }).toBeGreaterThan(before);
  await page.getByRole('button', { name: 'Change image' }).waitFor();
  await page.getByLabel('Image details').getByTestId('image-name').waitFor();
}

describeRoot('images from a link through the UI in Chromium', () => {
  // The app checks signatures against gpgv's keyring: GNUPGHOME/trustedkeys.gpg (written once the key exists).
  const gnupg = mkdtempSync(join(tmpdir(), 'sureflash-e2e-gnupg-'));
  const ui = useUiHarness({ env: () => ({ GNUPGHOME: gnupg }) });
  const server = new TestHttpServer();
  let publisher: TestKey;
  let stranger: TestKey;
  let image = '';
  let ranges: BlockRange[] = [];

  beforeAll(async () => {
    publisher = await makeKey('Sureflash Test Publisher');
    stranger = await makeKey('Someone Else');
    writeFileSync(join(gnupg, 'trustedkeys.gpg'), publisher.publicArmored);
    const made = await ui.makeImage('os.img', {
      size: 24 * MiB,
      extents: [
        { offset: 0, length: 3 * MiB },
        { offset: 8 * MiB, length: 5 * MiB },
        { offset: 20 * MiB, length: MiB },
      ],
    });
    image = made.path;
    ranges = made.ranges;
    const gz = gzipSync(readFileSync(image));
    const bmap = readFileSync(join(ui.dir, 'os.bmap'));
    await server.start();
    // Signed by the publisher, with a published sha256.
    server.put('/os.img.gz', gz);
    server.put('/os.img.bmap', bmap);
    server.put('/os.img.bmap.asc', await detachSign(publisher, bmap));
    server.put('/os.img.gz.sha256', Buffer.from(`${sha256(gz)}  os.img.gz\n`));
    // The same, from a server that stops sending part-way through the image (and stays connected).
    server.put('/slow/os.img.gz', gz);
    server.put('/slow/os.img.bmap', bmap);
    server.put('/slow/os.img.bmap.asc', await detachSign(publisher, bmap));
    server.put('/slow/os.img.gz.sha256', Buffer.from(`${sha256(gz)}  os.img.gz\n`));
    server.fault('/slow/os.img.gz', { stallAfter: 256 * 1024, times: Infinity });
    // A published sha256 that is not this file's: known only once the download has streamed through.
    server.put('/wrongsum/os.img.gz', gz);
    server.put('/wrongsum/os.img.bmap', bmap);
    server.put('/wrongsum/os.img.bmap.asc', await detachSign(publisher, bmap));
    server.put('/wrongsum/os.img.gz.sha256', Buffer.from(`${'cd'.repeat(32)}  os.img.gz\n`));
    // The same files again, for the flash with the download cache off.
    server.put('/nocache/os.img.gz', gz);
    server.put('/nocache/os.img.bmap', bmap);
    server.put('/nocache/os.img.bmap.asc', await detachSign(publisher, bmap));
    server.put('/nocache/os.img.gz.sha256', Buffer.from(`${sha256(gz)}  os.img.gz\n`));
    // Signed by a key the app does not trust.
    server.put('/stranger/os.img.gz', gz);
    server.put('/stranger/os.img.bmap', bmap);
    server.put('/stranger/os.img.bmap.asc', await detachSign(stranger, bmap));
    // The publisher's signature over another bmap: it does not match this one.
    server.put('/tampered/os.img.gz', gz);
    server.put('/tampered/os.img.bmap', bmap);
    server.put('/tampered/os.img.bmap.asc', await detachSign(publisher, Buffer.concat([bmap, Buffer.from('<!-- changed -->\n')])));
  });

  afterAll(async () => {
    await server.stop();
    rmSync(gnupg, { recursive: true, force: true });
  });

  it('a pasted link: signed, checksum checked as it downloads, download speed next to write speed, Verified; the cached copy then matches', async () => {
    const targetFile = join(ui.dir, 'url-target.bin');
    await fsp.writeFile(targetFile, Buffer.alloc(32 * MiB, 0x55));
    const loop = await attachLoop(targetFile);
    ui.defer(() => loop.detach());

    const page = await ui.openApp();
    await openLink(page, server, '/os.img.gz');
    expect(await page.getByTestId('image-name').textContent()).toBe('os.img.gz');
    expect(await page.getByTestId('image-origin').textContent()).toBe(`From ${new URL(server.url('/')).host}`);
    expect(await trustLines(page)).toEqual(['Signed by Sureflash Test Publisher', 'Checksum is checked while writing']);
    // The key's fingerprint is in the tooltip, never in the running text.
    const signed = page.getByRole('list', { name: 'Authenticity' }).locator('li').first();
    expect(await signed.getAttribute('title')).toContain(publisher.fingerprint);
    expect(await page.getByLabel('Image details').textContent()).not.toContain(publisher.fingerprint);

    // The first try (the same files under /slow/) stalls part-way through the download: the progress shows
    // both speeds; then it is stopped.
    await openLink(page, server, '/slow/os.img.gz');
    await chooseTargets(page, [loop.device]);
    await page.getByRole('button', { name: 'Flash!' }).click();
    await ui.answerErase(loop.device, 'erase');
    const figures = page.getByRole('list', { name: 'Figures' });
    await figures.getByTestId('download-speed').waitFor();
    expect(await figures.getByTestId('download-speed').textContent()).toMatch(/^Downloading (\d[\d.]* [kMG]?B\/s|—)$/);
    expect(await figures.getByTestId('write-speed').textContent()).toMatch(/^Writing /);
    await page.screenshot({ path: artifactPath('real-url-downloading.png') });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('alertdialog', { name: 'Stop flashing?' }).getByRole('button', { name: 'Stop' }).click();
    expect(await ui.finalStatus()).toMatch(/^Cancelled/);

    // Again from the first link, to the end: Verified, the card holds the image, the published checksum matched.
    await page.getByRole('button', { name: 'Flash another' }).click();
    await openLink(page, server, '/os.img.gz');
    await chooseTargets(page, [loop.device]);
    await page.getByRole('button', { name: 'Flash!' }).click();
    await ui.answerErase(loop.device, 'erase');
    expect(await ui.finalStatus()).toMatch(/^Verified/);
    await expectMappedBlocksEqual(image, ranges, (offset, length) => readDirect(loop.device, offset, length));
    expect(await page.getByTestId('checksum').textContent()).toBe('Matches the published sha256');
    expect(await page.getByTestId('downloaded').textContent()).toMatch(/^\d[\d.]* [kM]?B$/);
    await page.screenshot({ path: artifactPath('real-final-url-verified.png') });

    // The download cache kept it (on in the app): opening the link again checks the cached copy's sha256.
    await page.getByRole('button', { name: 'Flash another' }).click();
    const downloads = server.bytesSent('/os.img.gz');
    await openLink(page, server, '/os.img.gz');
    expect(await trustLines(page)).toEqual(['Signed by Sureflash Test Publisher', 'Checksum matches']);
    expect(server.bytesSent('/os.img.gz') - downloads).toBeLessThanOrEqual(4096);
  });

  it('a dropped link signed by a key not trusted here, and a signature that does not match: said in the image step, no Flash!', async () => {
    const page = await ui.openApp();
    const drop = async (url: string): Promise<void> => {
      const data = await page.evaluateHandle((link) => {
        const transfer = new DataTransfer();
        transfer.setData('text/uri-list', `# a comment line\n${link}`);
        transfer.setData('text/plain', link);
        return transfer;
      }, url);
      const zone = page.getByTestId('drop-zone');
      await zone.dispatchEvent('dragover', { dataTransfer: data });
      await zone.dispatchEvent('drop', { dataTransfer: data });
      await page.getByLabel('Image details').getByText(url.endsWith('.gz') ? 'os.img.gz' : url).first().waitFor();
    };

    await drop(server.url('/stranger/os.img.gz'));
    await page.getByRole('list', { name: 'Authenticity' }).getByText(/key/).waitFor();
    expect((await trustLines(page))[0]).toBe('Signed by a key you have not trusted');
    // Only its fingerprint is known (the key is not in the keyring): in the tooltip, not in the text.
    expect(await page.getByRole('list', { name: 'Authenticity' }).locator('li').first().getAttribute('title')).toContain(stranger.fingerprint);
    const flash = page.getByRole('button', { name: 'Flash!' });
    expect(await flash.isDisabled()).toBe(true);
    expect(await page.getByTestId('flash-step').textContent()).toMatch(/This image cannot be flashed.*Its block map is signed by a key you have not trusted\./);
    await page.screenshot({ path: artifactPath('real-url-unknown-key.png') });

    await drop(server.url('/tampered/os.img.gz'));
    await page.getByRole('list', { name: 'Authenticity' }).getByText(/signature/).waitFor();
    expect((await trustLines(page))[0]).toBe('The signature does not match: do not use this image');
    expect(await flash.isDisabled()).toBe(true);
    expect(await page.getByTestId('flash-step').textContent()).toMatch(/This image cannot be flashed.*Its block map's signature does not match\./);
  });

  it('a link the server does not have: the image step says so, naming the address and the status', async () => {
    const page = await ui.openApp();
    await page.getByRole('textbox', { name: 'Image link' }).fill(server.url('/nowhere/os.img.xz'));
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    const alert = page.getByTestId('drop-zone').getByRole('alert');
    await alert.waitFor({ timeout: 30_000 });
    // The address wraps at its separators inside the step, at the smallest window too.
    await page.setViewportSize({ width: 720, height: 540 });
    await page.screenshot({ path: artifactPath('real-url-not-found-720x540.png') });
    expect(await layoutProblems(page)).toEqual({ outside: [], overlaps: [], brokenWords: [], cliFlags: [], lowContrast: [] });
    expect(await alert.textContent()).toMatch(/404/);
    expect(await alert.textContent()).toContain('/nowhere/os.img.xz');
    expect(await page.getByLabel('Image details').count()).toBe(0);
  });

  it('a download that does not match its published sha256: Failed at its end, the card must not be used, no hash in the text', async () => {
    const targetFile = join(ui.dir, 'wrongsum-target.bin');
    await fsp.writeFile(targetFile, Buffer.alloc(32 * MiB));
    const loop = await attachLoop(targetFile);
    ui.defer(() => loop.detach());
    const page = await ui.openApp();
    await openLink(page, server, '/wrongsum/os.img.gz');
    expect(await trustLines(page)).toEqual(['Signed by Sureflash Test Publisher', 'Checksum is checked while writing']);
    await chooseTargets(page, [loop.device]);
    await page.getByRole('button', { name: 'Flash!' }).click();
    await ui.answerErase(loop.device, 'erase');
    const status = await ui.finalStatus();
    await page.screenshot({ path: artifactPath('real-final-checksum-mismatch.png') });
    expect(status).toMatch(/^Failed The downloaded image does not match its published checksum: /);
    // What the card holds depends on how far the image got before its end was hashed: said either way.
    const unreached = (await page.getByTestId('ranges-unreached').count()) > 0 ? await page.getByTestId('ranges-unreached').textContent() : '';
    const reached = !unreached?.startsWith('3 ranges');
    expect(await page.getByTestId('unsafe').textContent()).toMatch(reached ? /holds an image that failed its published checksum: it must not be used/ : /partly overwritten by the capacity check, before any of the image/);
    expect(await page.getByTestId('checksum').textContent()).toBe('Does NOT match the published sha256');
    expect(await page.locator('main').textContent()).not.toMatch(/[0-9a-f]{64}/);
    // The image was at fault: flashing the same card again from it would fail the same way.
    expect(await page.getByRole('button', { name: /^Flash (this card|failed cards) again/ }).count()).toBe(0);
  });

  it('the download cache limit is a setting kept by main, and 0 keeps no download', async () => {
    const page = await ui.openApp();
    const settings = page.getByRole('dialog', { name: 'Settings' });
    const cache = settings.getByRole('spinbutton', { name: 'Download cache (GiB)' });
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    expect(await cache.inputValue()).toBe('8');
    await cache.fill('0');
    await settings.getByRole('button', { name: 'Done' }).click();
    // Main keeps it: asked over the Api, then shown again by a fresh page.
    const client = await connectHostApi(ui.host);
    try {
      await expect
        .poll(async () => ((await client.call('getSettings')) as { value?: { cacheLimitBytes?: number } }).value?.cacheLimitBytes, { timeout: 30_000 })
        .toBe(0);
    } finally {
      await client.close();
    }
    await page.reload();
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await expect.poll(() => cache.inputValue(), { timeout: 30_000 }).toBe('0');
    await settings.getByRole('button', { name: 'Done' }).click();

    // With the cache off, a flashed link is not kept: opened again, its checksum is still to be checked.
    const targetFile = join(ui.dir, 'nocache-target.bin');
    await fsp.writeFile(targetFile, Buffer.alloc(32 * MiB));
    const loop = await attachLoop(targetFile);
    ui.defer(() => loop.detach());
    await openLink(page, server, '/nocache/os.img.gz');
    await chooseTargets(page, [loop.device]);
    await page.getByRole('button', { name: 'Flash!' }).click();
    await ui.answerErase(loop.device, 'erase');
    expect(await ui.finalStatus()).toMatch(/^Verified/);
    await page.getByRole('button', { name: 'Flash another' }).click();
    await openLink(page, server, '/nocache/os.img.gz');
    expect(await trustLines(page)).toEqual(['Signed by Sureflash Test Publisher', 'Checksum is checked while writing']);

    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await cache.fill('8');
    await settings.getByRole('button', { name: 'Done' }).click();
  });

  it('a local image whose published sha256 does not match: "Checksum does not match" and no Flash!', async () => {
    const local = join(ui.dir, 'local.img');
    await fsp.copyFile(image, local);
    await fsp.writeFile(`${local}.sha256`, `${'ab'.repeat(32)}  local.img\n`);
    const page = await ui.openApp();
    await ui.host.pick(local);
    await page.getByRole('button', { name: 'Select image' }).click();
    await page.getByLabel('Image details').waitFor();
    expect(await trustLines(page)).toContain('Checksum does not match: the image is damaged');
    expect(await page.getByRole('button', { name: 'Flash!' }).isDisabled()).toBe(true);
    expect(await page.getByTestId('flash-step').textContent()).toMatch(/This image cannot be flashed.*It does not match its published checksum\./);
  });
});
