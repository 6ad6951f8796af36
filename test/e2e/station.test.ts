/**
 * Station mode through the real UI in Chromium and the browser host: armed with a loop device already
 * attached (never touched: its bytes stay as they were), then two loop devices attached during the test
 * are flashed by the station on its own — two "Verified — remove" tiles, both byte-exact — and the station
 * is stopped, with its summary and a card's history. Screenshots at 1280×800 and 720×540, light and dark,
 * each checked for layout problems. Root only (loop devices).
 *
 * The station takes only the two slots the test names (their loop devices' sysfs paths, chosen before they
 * are attached), so loop devices other tests attach meanwhile are never touched either.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { artifactPath } from '../helpers/browser';
import { startCard } from '../helpers/card';
import { attachLoop, freeLoopDevices, readDirect } from '../helpers/loop';
import { describeRoot } from '../helpers/root';
import { layoutProblems } from './layout-check';
import { expectMappedBlocksEqual, MiB, mentionsDevice, setRetries, useUiHarness } from './ui-harness';

const SIZES = [
  { width: 1280, height: 800 },
  { width: 720, height: 540 },
] as const;

/** Photographs the page at both sizes, light and dark, and returns every layout problem found. */
async function shootEverySize(page: Page, name: string): Promise<string[]> {
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
      // Text that runs out of its tile is not an overlap of two boxes: check the tiles' own overflow too.
      const spilled = await page.$$eval('.slot-tile, .slot-verdict, .station-bar, .station-panel', (els) =>
        els.filter((el) => el.scrollWidth > el.clientWidth + 1).map((el) => `${el.className}: "${(el.textContent ?? '').slice(0, 40)}"`),
      );
      for (const item of spilled) failures.push(`${shot} spills out of its box: ${item}`);
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: 'light' });
  return failures;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describeRoot('station mode through the UI in Chromium', () => {
  const ui = useUiHarness();

  it('never touches the drive present at arming, flashes the two cards inserted after it, then stops with its summary', async () => {
    const { path: image, ranges } = await ui.makeImage('station.img', {
      size: 24 * MiB,
      extents: [
        { offset: 0, length: 3 * MiB },
        { offset: 8 * MiB, length: 5 * MiB },
        { offset: 20 * MiB, length: MiB },
      ],
    });

    // Present at arming: never touched.
    const presentFile = join(ui.dir, 'present.bin');
    await fsp.writeFile(presentFile, Buffer.alloc(32 * MiB, 0x5a));
    const present = await attachLoop(presentFile);
    ui.defer(() => present.detach());
    const presentBefore = sha256(await readDirect(present.device, 0, 32 * MiB));

    // The two cards to insert later: their slots are their loop devices' sysfs paths.
    const spread = 200 + 10 * Math.floor(Math.random() * 50);
    const cards = freeLoopDevices(2, spread);
    expect(cards).toHaveLength(2);
    const slots = cards.map((device) => `/devices/virtual/block/${device.replace('/dev/', '')}`);

    const page = await ui.openApp();
    await page.setViewportSize({ width: 1280, height: 800 });
    await ui.host.pick(image);
    await page.getByRole('button', { name: 'Station mode' }).click();
    await page.getByRole('button', { name: 'Select image' }).click();
    await page.getByTestId('station-image').waitFor();
    const untouched = page.getByRole('list', { name: 'Drives never touched' });
    await untouched.getByText(mentionsDevice(present.device)).waitFor();
    await page.getByRole('textbox', { name: 'Only these slots (optional)' }).fill(slots.join('\n'));
    const setupProblems = await shootEverySize(page, 'setup');

    // Arm: main asks first, naming what it will never touch.
    await page.getByRole('button', { name: 'Arm station' }).click();
    const question = page.getByRole('dialog', { name: 'Arm the station?' });
    await question.waitFor();
    await question.getByText(mentionsDevice(present.device)).waitFor();
    await question.getByRole('button', { name: 'Arm station' }).click();
    await question.waitFor({ state: 'detached' });
    await page.getByTestId('station-state').getByText('Armed: waiting for cards').waitFor();
    expect(await page.getByTestId('station-untouched').textContent()).toMatch(/^Never touched: \d+ drives? present when armed$/);
    // One tile per configured slot, both waiting.
    expect(await page.getByRole('list', { name: 'Slots' }).getByRole('status').allTextContents()).toEqual(['Waiting', 'Waiting']);

    // Insert two cards.
    const loops = [];
    for (const [i, device] of cards.entries()) {
      const file = join(ui.dir, `card-${i}.bin`);
      await fsp.writeFile(file, Buffer.alloc((32 + 8 * i) * MiB, 0x33 + i));
      const loop = await attachLoop(file, { device });
      ui.defer(() => loop.detach());
      loops.push(loop);
    }
    const verified = page.getByRole('list', { name: 'Slots' }).getByRole('listitem', { name: /: Verified — remove$/ });
    await expect.poll(() => verified.count(), { timeout: 150_000, interval: 500 }).toBe(2);
    expect(await page.getByRole('list', { name: 'Slots' }).getByRole('status').allTextContents()).toEqual(['Verified — remove', 'Verified — remove']);
    for (const loop of loops) await expectMappedBlocksEqual(image, ranges, (offset, length) => readDirect(loop.device, offset, length));
    expect(sha256(await readDirect(present.device, 0, 32 * MiB)), 'the drive present at arming was written').toBe(presentBefore);
    const tileProblems = await shootEverySize(page, 'verified');

    // A card's history, as the station recorded it.
    await page.getByRole('button', { name: 'History of card 1' }).click();
    const history = page.getByRole('dialog', { name: 'Card history' });
    await history.getByTestId('history-flashes').waitFor();
    expect(await history.getByTestId('history-flashes').textContent()).toBe('1');
    expect(await history.getByTestId('history-bad-blocks').textContent()).toBe('0');
    const historyProblems = await shootEverySize(page, 'history');
    await history.getByRole('button', { name: 'Close' }).click();
    // Every card the history holds: the two just flashed.
    await page.getByRole('button', { name: 'Card history' }).click();
    const cardList = page.getByRole('dialog', { name: 'Card history' }).getByRole('list', { name: 'Cards' });
    await expect.poll(() => cardList.getByRole('listitem').count(), { timeout: 10_000 }).toBe(2);
    expect(await cardList.getByRole('listitem').allTextContents()).toEqual([expect.stringMatching(/Keep1 flash, last .* Verified$/), expect.stringMatching(/Keep1 flash, last .* Verified$/)]);
    const listProblems = await shootEverySize(page, 'history-cards');
    await page.getByRole('dialog', { name: 'Card history' }).getByRole('button', { name: 'Close' }).click();

    // Stop: nothing runs, so the station stops at once with its summary.
    await page.getByRole('button', { name: 'Stop station' }).click();
    await page.getByTestId('station-summary').getByText('All 2 cards verified').waitFor();
    const stoppedProblems = await shootEverySize(page, 'stopped');
    expect(sha256(await readDirect(present.device, 0, 32 * MiB))).toBe(presentBefore);

    expect([...setupProblems, ...tileProblems, ...historyProblems, ...listProblems, ...stoppedProblems]).toEqual([]);
  });

  it('stops when the page that armed it goes away', async () => {
    const { path: image } = await ui.makeImage('station-gone.img', { size: 4 * MiB, extents: [{ offset: 0, length: MiB }] });
    // A slot no loop device is attached to: this station can take nothing.
    const [unused] = freeLoopDevices(1, 900 + Math.floor(Math.random() * 90));
    const page = await ui.openApp();
    await ui.host.pick(image);
    await page.getByRole('button', { name: 'Station mode' }).click();
    await page.getByRole('button', { name: 'Select image' }).click();
    await page.getByTestId('station-image').waitFor();
    await page.getByRole('textbox', { name: 'Only these slots (optional)' }).fill(`/devices/virtual/block/${(unused ?? '/dev/loop999').replace('/dev/', '')}`);
    await page.getByRole('button', { name: 'Arm station' }).click();
    const question = page.getByRole('dialog', { name: 'Arm the station?' });
    await question.getByRole('button', { name: 'Arm station' }).click();
    await page.getByTestId('station-state').getByText('Armed: waiting for cards').waitFor();
    await page.close();
    await expect.poll(() => ui.host.stderr(), { timeout: 20_000 }).toMatch(/went away while the station was armed: stopping it and cancelling its running cards/);
    // A new page finds it stopped, not armed: it opens on the three steps.
    const again = await ui.openApp();
    await again.getByRole('heading', { name: 'Image' }).waitFor();
    expect(await again.getByTestId('station-state').count()).toBe(0);
  });
});

describeRoot(
  'station mode with a worn card (the FUSE card fixture) through the UI in Chromium',
  () => {
    const ui = useUiHarness();

    it('a card with a dead block ends "Failed — retire", with the reason on its tile and in its history', async () => {
      const { path: image } = await ui.makeImage('station-worn.img', { size: 8 * MiB, extents: [{ offset: 0, length: 2 * MiB }] });
      const worn = await startCard({ size: 16 * MiB, faults: [{ block: 100, count: -1 }], loop: false });
      ui.defer(() => worn.stop());
      const [device] = freeLoopDevices(1, 700 + 10 * Math.floor(Math.random() * 20));
      if (device === undefined) throw new Error('no free loop device number');

      const page = await ui.openApp();
      await setRetries(page, 1);
      await ui.host.pick(image);
      await page.getByRole('button', { name: 'Station mode' }).click();
      await page.getByRole('button', { name: 'Select image' }).click();
      await page.getByTestId('station-image').waitFor();
      await page.getByRole('textbox', { name: 'Only these slots (optional)' }).fill(`/devices/virtual/block/${device.replace('/dev/', '')}`);
      await page.getByRole('button', { name: 'Arm station' }).click();
      await page.getByRole('dialog', { name: 'Arm the station?' }).getByRole('button', { name: 'Arm station' }).click();
      await page.getByTestId('station-state').getByText('Armed: waiting for cards').waitFor();

      const loop = await attachLoop(worn.file, { device });
      ui.defer(() => loop.detach());
      const tile = page.getByRole('list', { name: 'Slots' }).getByRole('listitem').first();
      await tile.getByRole('status').getByText(/^Failed — retire$/).waitFor({ timeout: 150_000 });
      expect(await tile.textContent()).toMatch(/Health: Retire/);
      expect(await tile.getByRole('list', { name: 'Health reasons' }).textContent()).toMatch(/did not hold data after all retries/);
      const problems = await shootEverySize(page, 'worn');

      await tile.getByRole('button', { name: 'History of card 1' }).click();
      const history = page.getByRole('dialog', { name: 'Card history' });
      await history.getByTestId('history-health').getByText('Retire').waitFor();
      expect(Number(await history.getByTestId('history-bad-blocks').textContent())).toBeGreaterThan(0);
      await history.getByRole('button', { name: 'Close' }).click();
      await page.getByRole('button', { name: 'Stop station' }).click();
      await page.getByTestId('station-summary').getByText('0 of 1 card verified').waitFor();
      expect(problems).toEqual([]);
    });
  },
  { fuse: true },
);
