/**
 * Station mode's every state at 1280×800 and 720×540, light and dark, in the real built renderer with a
 * scripted Api (main is not needed to show a worn card or a long reason): a card flashing, one verified to
 * watch, one failed to retire, an empty slot, a drive not taken; then stopping, and the summary of a mixed
 * session. Each screenshot goes to test-artifacts/screenshots and is checked for layout problems.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactPath, buildOnce, chromiumAvailable, launchBrowser, startHost, type Browser, type RunningHost } from '../helpers/browser';
import { armed, done, progress, refusal, result, RETIRE, SESSION, summary, taken, WATCH } from '../renderer/station-fixtures';
import { layoutProblems } from './layout-check';
import { scenario } from './layout-scenarios';
import { pushStationEvents, useScriptedApi } from './scripted-api';

const SIZES = [
  { width: 1280, height: 800 },
  { width: 720, height: 540 },
] as const;

const SLOTS = ['b', 'c', 'd', 'e'].map((port) => `/devices/pci0000:00/usb2/2-1.${port}`);

describe.skipIf(!chromiumAvailable())('station mode layout at two window sizes, light and dark (needs /usr/bin/chromium)', () => {
  let host: RunningHost;
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    buildOnce();
    dir = mkdtempSync(join(tmpdir(), 'sureflash-station-layout-'));
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    host = await startHost([...(root ? ['--allow-loop'] : []), '--user-data-dir', join(dir, 'user-data')]);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await host?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function everySize(page: Page, name: string): Promise<string[]> {
    const failures: string[] = [];
    for (const size of SIZES) {
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.setViewportSize(size);
        await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
        await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
        const shot = `station-${name}-${size.width}x${size.height}-${colorScheme}.png`;
        await page.screenshot({ path: artifactPath(shot) });
        const problems = await layoutProblems(page);
        for (const [kind, list] of Object.entries(problems)) for (const item of list as string[]) failures.push(`${shot} ${kind}: ${item}`);
        const spilled = await page.$$eval('.slot-tile, .slot-verdict, .station-bar, .station-summary', (els) =>
          els.filter((el) => el.scrollWidth > el.clientWidth + 1).map((el) => `${el.className}: "${(el.textContent ?? '').slice(0, 40)}"`),
        );
        for (const item of spilled) failures.push(`${shot} spills out of its box: ${item}`);
      }
    }
    return failures;
  }

  it('a bench of four slots: flashing, verified (watch), failed (retire), waiting; then stopping and a mixed summary', async () => {
    const page = await browser.context.newPage();
    await useScriptedApi(page, scenario);
    await page.goto(host.url);
    await page.getByRole('button', { name: 'Station mode' }).click();
    await page.getByRole('button', { name: 'Select image' }).click();
    await page.getByTestId('station-image').waitFor();
    const setup = await everySize(page, 'scripted-setup');

    await pushStationEvents(page, [
      armed(['/dev/sda', '/dev/sdg', '/dev/vda'], { slots: SLOTS, maxCards: 4 }),
      taken(1, '/dev/sdb'),
      taken(2, '/dev/sdc'),
      taken(3, '/dev/sdd'),
      progress(1, '/dev/sdb', 43.2),
      done(result(2, '/dev/sdc', 'verified', WATCH, { retries: 2, rewrittenBlocks: 6 })),
      done(
        result(3, '/dev/sdd', 'failed', { ...RETIRE, reasons: [...RETIRE.reasons, { code: 'RETRIES_RECURRING', verdict: 'retire', message: 'Retries were needed in 3 of its last 5 flashes.' }] }, { badBlocks: 3, retries: 3 }),
      ),
      { type: 'card-refused', sessionId: SESSION, refusal: refusal('/dev/sdh', 'TOO_LARGE') },
    ]);
    const statuses = await page.getByRole('list', { name: 'Slots' }).getByRole('status').allTextContents();
    expect(statuses).toEqual(['Flashing 43 %', 'Verified — remove', 'Failed — retire', 'Waiting']);
    const bench = await everySize(page, 'bench');

    await pushStationEvents(page, [{ type: 'stopping', sessionId: SESSION, running: 1, cancelling: false }]);
    await page.getByRole('button', { name: 'Cancel running cards' }).waitFor();
    const stopping = await everySize(page, 'stopping');

    await pushStationEvents(page, [
      done(result(1, '/dev/sdb', 'cancelled', null)),
      { type: 'stopped', sessionId: SESSION, summary: summary({ taken: 3, verified: 1, failed: 1, cancelled: 1, allVerified: false, health: { keep: 0, watch: 1, retire: 1 } }) },
    ]);
    expect(await page.getByTestId('station-summary').textContent()).toBe('1 of 3 cards verified');
    const stopped = await everySize(page, 'summary');
    await page.close();
    expect([...setup, ...bench, ...stopping, ...stopped]).toEqual([]);
  });
});
