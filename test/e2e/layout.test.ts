/**
 * Every screen at the three window sizes (1280×800, 1000×720 the default, 720×540 the minimum) in light
 * and dark: nothing outside the window or the panel holding it, no two boxes overlapping, no word broken
 * across lines, no command-line option named, text at AA contrast. The built renderer is served by the
 * browser host; its Api is scripted (scripted-api.ts) for screens a loop device cannot produce on demand
 * (four cards with every outcome). Screenshots of each run go to test-artifacts/screenshots.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactPath, buildOnce, chromiumAvailable, launchBrowser, startHost, type Browser, type RunningHost } from '../helpers/browser';
import { layoutProblems, WINDOW_SIZES } from './layout-check';
import { batchOf, progressAt, reports, scenario, started } from './layout-scenarios';
import { pushEvents, useScriptedApi } from './scripted-api';
import { deviceName } from './ui-harness';

describe.skipIf(!chromiumAvailable())('layout at every window size, light and dark (needs /usr/bin/chromium)', () => {
  let host: RunningHost;
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    buildOnce();
    dir = mkdtempSync(join(tmpdir(), 'sureflash-layout-'));
    host = await startHost(['--allow-loop', '--user-data-dir', join(dir, 'user-data')]);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await host?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function openPage(script = scenario): Promise<Page> {
    const page = await browser.context.newPage();
    await useScriptedApi(page, script);
    await page.goto(host.url);
    await page.getByRole('heading', { name: 'Image' }).waitFor();
    return page;
  }

  /** Checks and photographs the page at every size and theme. */
  async function everySize(page: Page, name: string): Promise<void> {
    const failures: string[] = [];
    for (const size of WINDOW_SIZES) {
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.setViewportSize(size);
        await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
        await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
        const shot = `${name}-${size.width}x${size.height}-${colorScheme}.png`;
        await page.screenshot({ path: artifactPath(shot) });
        const problems = await layoutProblems(page);
        for (const [kind, list] of Object.entries(problems)) for (const item of list as string[]) failures.push(`${shot} ${kind}: ${item}`);
      }
    }
    expect(failures).toEqual([]);
  }

  async function chooseTargets(page: Page, devices: string[]): Promise<void> {
    await page.getByRole('button', { name: /^(Select|Change) target$/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Select target' });
    for (const device of devices) await dialog.getByRole('checkbox', { name: deviceName(device) }).check();
    await dialog.getByRole('button', { name: 'Select' }).click();
  }

  it('the first screen', async () => {
    const page = await openPage();
    await everySize(page, 'first-screen');
    await page.close();
  });

  it('image and target chosen, ready to flash', async () => {
    const page = await openPage();
    await page.getByRole('button', { name: 'Select image' }).click();
    await page.getByLabel('Image details').waitFor();
    await chooseTargets(page, ['/dev/sdc']);
    await page.getByText(/will be unmounted before writing/).waitFor();
    await everySize(page, 'ready');
    await page.close();
  });

  it('an image from a link that cannot be flashed: signed by a key not trusted here', async () => {
    const untrusted = { ...scenario.image, signature: { status: 'unknown-key' as const, signer: 'Some Community Mirror Build Service <builds@mirror.example>', fingerprint: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01' }, checksum: { kind: 'sha256' as const, status: 'pending' as const, source: 'SHA256SUMS' } };
    const page = await openPage({ ...scenario, image: untrusted });
    await page.getByRole('button', { name: 'Select image' }).click();
    await chooseTargets(page, ['/dev/sdb']);
    await page.getByTestId('image-refusal').waitFor();
    expect(await page.getByRole('button', { name: 'Flash!' }).isDisabled()).toBe(true);
    await everySize(page, 'image-refused');
    await page.close();
  });

  it('the drive picker with hidden drives shown', async () => {
    const page = await openPage();
    await page.getByRole('button', { name: 'Select target' }).click();
    const dialog = page.getByRole('dialog', { name: 'Select target' });
    await dialog.getByRole('checkbox', { name: /Show hidden/ }).check();
    await dialog.getByRole('checkbox', { name: deviceName('/dev/sdb') }).check();
    await dialog.getByRole('checkbox', { name: deviceName('/dev/sdd') }).check();
    await everySize(page, 'picker');
    await page.close();
  });

  it('one card flashing, rewriting blocks', async () => {
    const page = await openPage();
    await page.getByRole('button', { name: 'Select image' }).click();
    await chooseTargets(page, ['/dev/sdb']);
    await page.getByRole('button', { name: 'Flash!' }).click();
    await pushEvents(page, [started(['/dev/sdb']), progressAt('/dev/sdb', 12, { activity: { kind: 'rewriting', blocks: 3, range: 11 }, phase: 'retrying' })]);
    await page.getByTestId('phase').filter({ hasText: 'Rewriting 3 blocks that did not hold' }).waitFor();
    await everySize(page, 'flashing');
    await page.close();
  });

  it('four cards flashing, one already failed', async () => {
    const page = await openPage();
    await page.getByRole('button', { name: 'Select image' }).click();
    const devices = ['/dev/sdb', '/dev/sdc', '/dev/sdd', '/dev/sde'];
    await chooseTargets(page, devices);
    await page.getByRole('button', { name: 'Flash!' }).click();
    await pushEvents(page, [
      started(devices),
      progressAt('/dev/sdb', 20),
      progressAt('/dev/sdc', 8),
      progressAt('/dev/sdd', 34, { activity: { kind: 'rewriting', blocks: 1, range: 33 } }),
      { type: 'target-done', jobId: 'job-1', device: '/dev/sde', report: reports.worn('/dev/sde') },
    ]);
    await page.getByRole('list', { name: 'Cards' }).waitFor();
    await everySize(page, 'flashing-cards');
    await page.close();
  });

  it('the final screen with four cards', async () => {
    const page = await openPage();
    await page.getByRole('button', { name: 'Select image' }).click();
    const devices = ['/dev/sdb', '/dev/sdc', '/dev/sdd', '/dev/sde'];
    await chooseTargets(page, devices);
    await page.getByRole('button', { name: 'Flash!' }).click();
    const cards = [reports.verified('/dev/sdb'), reports.verified('/dev/sdc'), reports.worn('/dev/sdd'), reports.cancelled('/dev/sde')];
    await pushEvents(page, [started(devices), { type: 'done', jobId: 'job-1', report: batchOf(cards) }]);
    await page.getByTestId('batch-headline').waitFor();
    const statuses = await page.getByRole('status').allTextContents();
    expect(statuses.map((s) => s.split(' ')[0])).toEqual(['Verified', 'Verified', 'Failed', 'Cancelled']);
    await everySize(page, 'final-cards');
    await page.close();
  });

  it('the final screen of a corrupt image', async () => {
    const page = await openPage();
    await page.getByRole('button', { name: 'Select image' }).click();
    await chooseTargets(page, ['/dev/sdb']);
    await page.getByRole('button', { name: 'Flash!' }).click();
    await pushEvents(page, [started(['/dev/sdb']), { type: 'done', jobId: 'job-1', report: batchOf([reports.corrupt('/dev/sdb')]) }]);
    await page.getByRole('status').waitFor();
    await everySize(page, 'final-corrupt');
    await page.close();
  });

  it('settings and about', async () => {
    const page = await openPage();
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await page.getByRole('dialog', { name: 'Settings' }).waitFor();
    await everySize(page, 'settings');
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('button', { name: 'About' }).click();
    await page.getByRole('dialog', { name: 'About Sureflash' }).waitFor();
    await everySize(page, 'about');
    await page.close();
  });
});
