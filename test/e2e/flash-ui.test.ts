/**
 * Flashing through the real UI in Chromium, against the browser host with the real services and engine:
 * a bmap image to a loop device (keyboard only), read back off, drives coming and going, a worn card that
 * needs retries, a dead block, Cancel mid-flash (asked first), and verifying a card without writing.
 * Root only (loop devices; FUSE for the worn card); the skip says which.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import type { SparseLayout } from '../helpers/bmap-fixtures';
import { artifactPath } from '../helpers/browser';
import { attachLoop, readDirect } from '../helpers/loop';
import { describeRoot } from '../helpers/root';
import { startWornCard } from '../helpers/worn-card';
import { layoutProblems, WINDOW_SIZES } from './layout-check';
import { BLOCK, chooseTargets, deviceName, expectMappedBlocksEqual, expectTargets, MiB, setRetries, tabTo, useUiHarness, mentionsDevice } from './ui-harness';

/** The screen as it is, at every window size in light and dark: photographed, and free of layout problems. */
async function checkEverySize(page: Page, name: string): Promise<void> {
  const failures: string[] = [];
  for (const size of WINDOW_SIZES) {
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.setViewportSize(size);
      await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
      const shot = `${name}-${size.width}x${size.height}-${colorScheme}.png`;
      await page.screenshot({ path: artifactPath(shot) });
      for (const [kind, list] of Object.entries(await layoutProblems(page))) for (const item of list as string[]) failures.push(`${shot} ${kind}: ${item}`);
    }
  }
  await page.setViewportSize({ width: 1000, height: 720 });
  expect(failures).toEqual([]);
}

describeRoot('flashing a loop device through the UI in Chromium, keyboard only', () => {
  const ui = useUiHarness();

  it('bmap image: "Verified", the mapped blocks hold the image, holes untouched, report saved', async () => {
    const layout: SparseLayout = {
      size: 32 * MiB,
      extents: [
        { offset: 0, length: MiB },
        { offset: 4 * MiB, length: 2 * MiB + 100 },
        { offset: 16 * MiB + 8192, length: BLOCK },
        { offset: 30 * MiB, length: MiB },
      ],
    };
    const { path: image, ranges } = await ui.makeImage('plain.img', layout);
    const targetFile = join(ui.dir, 'plain-target.bin');
    await fsp.writeFile(targetFile, Buffer.alloc(40 * MiB, 0xaa));
    const loop = await attachLoop(targetFile);
    ui.defer(() => loop.detach());

    const page = await ui.openApp();
    await ui.host.pick(image);
    await tabTo(page, page.getByRole('button', { name: 'Select image' }));
    await page.keyboard.press('Enter');
    await page.getByLabel('Image details').getByText(/bmap 2\.0, sha256 checksums/).waitFor();

    await tabTo(page, page.getByRole('button', { name: /^(Select|Change) target$/ }));
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Select target' });
    const mine = dialog.getByRole('checkbox', { name: deviceName(loop.device) });
    await mine.waitFor();
    // Focus starts in the list; Space sets each box (only this test's loop device checked), Tab moves on.
    const select = dialog.getByRole('button', { name: 'Select' });
    for (let i = 0; i < 60 && !(await select.evaluate((el) => el === document.activeElement)); i += 1) {
      const state = await page.evaluate(() => {
        const el = document.activeElement;
        return el instanceof HTMLInputElement && el.type === 'checkbox' && el.closest('.drive-list') ? { name: el.getAttribute('aria-label') ?? '', checked: el.checked } : null;
      });
      if (state && deviceName(loop.device).test(state.name) !== state.checked) await page.keyboard.press(' ');
      await page.keyboard.press('Tab');
    }
    expect(await mine.isChecked()).toBe(true);
    await page.screenshot({ path: artifactPath('real-target-dialog.png') });
    await page.keyboard.press('Enter');
    expect(await dialog.count()).toBe(0);
    await expectTargets(page, [loop.device]);

    await tabTo(page, page.getByRole('button', { name: 'Flash!' }));
    await page.keyboard.press('Enter');
    // The host asks main's own question in the page; "Cancel" has the focus first.
    const question = page.getByRole('dialog', { name: 'Erase drive?' });
    await question.getByText(mentionsDevice(loop.device)).waitFor();
    expect(await question.getByRole('button', { name: 'Cancel' }).evaluate((el) => el === document.activeElement)).toBe(true);
    await page.screenshot({ path: artifactPath('erase-question.png') });
    await tabTo(page, question.getByRole('button', { name: 'Erase and flash' }));
    await page.keyboard.press('Enter');
    const status = await ui.finalStatus();
    expect(status).toMatch(/^Verified Every written block was read back from the card itself after a flush/);
    expect(await page.getByText('You can remove the card now.').count()).toBe(1);
    expect(await page.getByTestId('ranges-verified').textContent()).toBe(`${ranges.length} of ${ranges.length}`);

    await expectMappedBlocksEqual(image, ranges, (offset, length) => readDirect(loop.device, offset, length));
    // A hole of the image (at 2 MiB) was not written: the bmap was used.
    expect((await readDirect(loop.device, 2 * MiB, BLOCK)).equals(Buffer.alloc(BLOCK, 0xaa))).toBe(true);

    // The range map names ranges from the keyboard.
    await tabTo(page, page.getByTestId('range-map'));
    await page.keyboard.press('Home');
    expect(await page.getByTestId('range-info').textContent()).toMatch(new RegExp(`^Range 1 of ${ranges.length}: blocks ${ranges[0]?.first}–${ranges[0]?.last}, .*verified$`));

    await tabTo(page, page.getByRole('button', { name: 'Save report' }));
    await page.keyboard.press('Enter');
    const saved = (await page.locator('.saved .truncate-box').getAttribute('title')) ?? '';
    const report = JSON.parse(await fsp.readFile(saved, 'utf8')) as { kind: string; status: string; cards: { target: { path: string } }[] };
    expect(report).toMatchObject({ kind: 'batch', status: 'verified', cards: [{ status: 'verified', target: { path: loop.device } }] });
    await checkEverySize(page, 'real-final-verified');
  });
});

describeRoot('flashing a loop device without read-back, in Chromium', () => {
  const ui = useUiHarness();

  it('"Read back and verify" off: "Written, not checked", and the blocks are on the device', async () => {
    const layout: SparseLayout = { size: 4 * MiB, extents: [{ offset: 0, length: 512 * 1024 }, { offset: 2 * MiB, length: 4 * BLOCK }] };
    const { path: image, ranges } = await ui.makeImage('unverified.img', layout);
    const targetFile = join(ui.dir, 'unverified-target.bin');
    await fsp.writeFile(targetFile, Buffer.alloc(8 * MiB));
    const loop = await attachLoop(targetFile);
    ui.defer(() => loop.detach());

    const page = await ui.openApp();
    await setRetries(page, 0, false);
    await page.getByText(/Not read back: nothing will prove the card holds the image/).waitFor();
    await ui.host.pick(image);
    await page.getByRole('button', { name: 'Select image' }).click();
    await page.getByLabel('Image details').waitFor();
    await chooseTargets(page, [loop.device]);
    await page.getByRole('button', { name: 'Flash!' }).click();
    await ui.answerErase(loop.device, 'erase');
    const status = await ui.finalStatus();
    expect(status).toMatch(/^Written, not checked The image was written but not read back/);
    expect(await page.getByTestId('ranges-verified').textContent()).toBe(`0 of ${ranges.length}`);
    await expectMappedBlocksEqual(image, ranges, (offset, length) => readDirect(loop.device, offset, length));
    // The setting persists: a fresh page starts with read-back off.
    await page.reload();
    await page.getByText(/Not read back: nothing will prove the card holds the image/).waitFor({ timeout: 10_000 });
    await setRetries(page, 3, true);
  });
});

describeRoot('the "Erase …?" question in Chromium', () => {
  const ui = useUiHarness();

  it('"Cancel" (or Esc) writes nothing: back on the setup screen, told that nothing was written', async () => {
    const { path: image } = await ui.makeImage('refused.img', { size: 4 * MiB, extents: [{ offset: 0, length: MiB }] });
    const targetFile = join(ui.dir, 'refused-target.bin');
    await fsp.writeFile(targetFile, Buffer.alloc(8 * MiB, 0xaa));
    const loop = await attachLoop(targetFile);
    ui.defer(() => loop.detach());

    await ui.startFlash(image, loop.device, 0, 'copy', 'cancel');
    const page = ui.page;
    const refusal = `Not confirmed: nothing was written to ${loop.device}.`;
    await page.getByRole('alert').filter({ hasText: refusal }).waitFor();
    await page.screenshot({ path: artifactPath('erase-refused.png') });
    // The advice says what is true: the drive was not touched (not "holds a partial image").
    expect(await page.getByRole('alert').textContent()).toContain('The drive was not touched.');
    expect(await page.getByText(/partial image/).count()).toBe(0);
    // Esc answers no too.
    await page.getByRole('button', { name: 'Flash!' }).click();
    await page.getByRole('dialog', { name: 'Erase drive?' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', { name: 'Erase drive?' }).waitFor({ state: 'detached' });
    await page.getByRole('alert').filter({ hasText: refusal }).waitFor();
    expect((await readDirect(loop.device, 0, 8 * MiB)).equals(Buffer.alloc(8 * MiB, 0xaa))).toBe(true);
  });
});

describeRoot('the target list in Chromium follows the drives', () => {
  const ui = useUiHarness();

  it('shows a loop device that appears, and drops it (and the choice) when it goes away', async () => {
    const page = await ui.openApp();
    await page.getByRole('button', { name: /^(Select|Change) target$/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Select target' });
    await dialog.waitFor();
    const file = join(ui.dir, 'coming-and-going.bin');
    await fsp.writeFile(file, Buffer.alloc(8 * MiB));
    const loop = await attachLoop(file);
    ui.defer(() => loop.detach());
    const box = dialog.getByRole('checkbox', { name: deviceName(loop.device) });
    await box.waitFor({ timeout: 30_000 });
    for (const other of await dialog.getByRole('list', { name: 'Drives' }).getByRole('checkbox').all()) if (await other.isChecked()) await other.uncheck();
    await box.check();
    expect(await dialog.getByRole('button', { name: 'Select' }).isEnabled()).toBe(true);
    await loop.detach();
    await box.waitFor({ state: 'detached', timeout: 30_000 });
    expect(await dialog.getByRole('button', { name: 'Select' }).isDisabled()).toBe(true);
  });
});

describeRoot('verifying a card without writing, in Chromium', () => {
  const ui = useUiHarness();

  it('"Verify without writing": Verified for a card that holds the image, Failed naming the block that differs, and nothing written', async () => {
    const layout: SparseLayout = { size: 8 * MiB, extents: [{ offset: 0, length: MiB }, { offset: 4 * MiB, length: MiB }] };
    const { path: image, ranges } = await ui.makeImage('to-verify.img', layout);
    const targetFile = join(ui.dir, 'verify-target.bin');
    await fsp.writeFile(targetFile, Buffer.alloc(8 * MiB));
    await fsp.copyFile(image, targetFile);
    const loop = await attachLoop(targetFile);
    ui.defer(() => loop.detach());

    await ui.startFlash(image, loop.device, 3, 'verify');
    expect(await ui.finalStatus()).toBe('Verified The card holds this image: every mapped block read from it matches.');

    // One byte differs in block 1100 (inside the second range, 4–5 MiB): the check names it, and writes nothing.
    const changed = 1100;
    const fd = await fsp.open(loop.device, 'r+');
    await fd.write(Buffer.from([0x5a]), 0, 1, changed * BLOCK + 17);
    await fd.sync();
    await fd.close();
    const before = await fsp.readFile(targetFile);
    // "Done" keeps the image, not the target: it is chosen again.
    await ui.page.getByRole('button', { name: 'Done' }).click();
    expect(await ui.page.getByRole('button', { name: 'Verify without writing' }).isDisabled()).toBe(true);
    await chooseTargets(ui.page, [loop.device]);
    await ui.page.getByRole('button', { name: 'Verify without writing' }).click();
    await ui.answerErase(loop.device, 'erase');
    const status = await ui.finalStatus();
    expect(status).toMatch(/^Failed The card does not hold this image: \d+ blocks? differs?\.$/);
    // Today's engine compares a verified range as a whole, so it names the whole range; the block is in it.
    const line = (await ui.page.getByTestId('list-failed').locator('li').first().textContent()) ?? '';
    const span = /^Blocks? (\d+)(?:–(\d+))? \(range 2\) differs? from the image\.$/.exec(line);
    expect(span, line).not.toBeNull();
    expect(Number(span?.[1]) <= changed && changed <= Number(span?.[2] ?? span?.[1]), line).toBe(true);
    expect(await ui.page.getByTestId('unsafe').count()).toBe(0);
    expect((await fsp.readFile(targetFile)).equals(before)).toBe(true);
    expect(ranges).toHaveLength(2);
  });
});

describeRoot(
  'flashing a worn card through the UI in Chromium',
  () => {
    const ui = useUiHarness();

    it('rewrites what the card did not keep: the retry counter moves, then "Verified", counted as ranges and block writes', async () => {
      // The weak block sits in the first range; the large second range keeps the job running (and the
      // progress up) after the rewrites, so the counter is on screen before the outcome.
      const layout: SparseLayout = { size: 32 * MiB, extents: [{ offset: 0, length: 3 * MiB }, { offset: 5 * MiB, length: 24 * MiB }] };
      const { path: image, ranges } = await ui.makeImage('worn.img', layout);
      const weakBlock = 10;
      const card = await startWornCard({ size: 48 * MiB, faults: [{ block: weakBlock, count: 2 }] });
      ui.defer(() => card.stop());

      await ui.startFlash(image, card.loop, 3);
      const status = await ui.finalStatus();
      await ui.page.screenshot({ path: artifactPath('real-final-worn-card-verified.png') });
      expect(status, card.stderr()).toMatch(/^Verified/);
      const seen = await ui.retriesSeen();
      expect(seen[0]).toBe(0);
      expect(Math.max(...seen)).toBeGreaterThanOrEqual(1);
      expect(await ui.page.getByTestId('ranges-rewritten').textContent()).toMatch(/^1 range/);
      const lines = await ui.page.getByTestId('list-rewritten').locator('li').allTextContents();
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^Range 1, blocks \d+–\d+: 2 retries, /);
      expect((await card.stats()).corruptedWrites).toBe(2);
      await expectMappedBlocksEqual(image, ranges, (offset, length) => card.storedBytes(offset, length));
    });

    it('names a dead block: "Failed", the blocks that did not hold, that the card must not be used, and what to do', async () => {
      const layout: SparseLayout = { size: 8 * MiB, extents: [{ offset: MiB, length: 2 * MiB }] };
      const { path: image } = await ui.makeImage('dead.img', layout);
      const deadBlock = MiB / BLOCK + 100;
      const card = await startWornCard({ size: 16 * MiB, faults: [{ block: deadBlock, count: -1 }] });
      ui.defer(() => card.stop());

      await ui.startFlash(image, card.loop, 2);
      const status = await ui.finalStatus();
      expect(status).toMatch(/^Failed \d+ blocks? did not hold what was written, even after 2 retries: the card is worn or faulty\.$/);
      const line = (await ui.page.getByTestId('list-failed').locator('li').first().textContent()) ?? '';
      const span = /^Blocks? (\d+)(?:–(\d+))? \(range 1\) did not hold after 2 retries\.$/.exec(line);
      expect(span, line).not.toBeNull();
      const first = Number(span?.[1]);
      const last = Number(span?.[2] ?? span?.[1]);
      expect(first <= deadBlock && deadBlock <= last, `${line} should name block ${deadBlock}`).toBe(true);
      expect(await ui.page.getByTestId('ranges-failed').textContent()).toMatch(/^1 range, \d+ blocks?$/);
      expect(await ui.page.getByTestId('unsafe').textContent()).toMatch(/partly overwritten: it holds part of an image and must not be used/);
      expect(await ui.page.getByText('Replace the card, or flash it again with more "Retries" in Settings.').count()).toBe(1);
      // The block strip of the failed range shows the dead block's cell as failed.
      expect(await ui.page.getByTestId('block-strip').locator('[data-paint="failed"]').count()).toBeGreaterThanOrEqual(1);
      await checkEverySize(ui.page, 'real-final-dead-block');
    });

    it('closing the page mid-flash cancels the job, and the host writes its report to --save-dir', async () => {
      const size = 160 * MiB;
      const { path: image } = await ui.makeImage('orphan.img', { size, extents: [{ offset: 0, length: size }] });
      const card = await startWornCard({ size: 192 * MiB, maxWrite: 4096 });
      let frozen = false;
      const thaw = (): void => {
        if (frozen) process.kill(card.pid, 'SIGCONT');
        frozen = false;
      };
      ui.defer(async () => {
        thaw();
        await card.stop();
      });

      await ui.startFlash(image, card.loop, 3);
      let written = 0;
      while (written < 16 * MiB) {
        written = (await card.stats()).bytesWritten;
        if (written >= size) throw new Error('the whole image was written before the test could freeze the card');
      }
      process.kill(card.pid, 'SIGSTOP');
      frozen = true;
      try {
        await ui.page.close();
      } finally {
        thaw();
      }
      const ended = /job (\S+) ended \(cancelled\) after its page went away: report written to (\S+)\n/;
      while (!ended.test(ui.host.stderr())) await new Promise((resolve) => setTimeout(resolve, 100));
      const [, jobId, path] = ended.exec(ui.host.stderr()) ?? [];
      expect(path).toBe(join(ui.dir, 'reports', `sureflash-report-${jobId}.json`));
      const report = JSON.parse(await fsp.readFile(path ?? '', 'utf8')) as { status: string; cards: { target: { path: string } }[] };
      expect(report).toMatchObject({ status: 'cancelled', cards: [{ target: { path: card.loop } }] });
    });

    it('cancels mid-flash after asking: "Cancelled", and the card must not be used', async () => {
      const size = 160 * MiB;
      const { path: image } = await ui.makeImage('big.img', { size, extents: [{ offset: 0, length: size }] });
      const card = await startWornCard({ size: 192 * MiB, maxWrite: 4096 });
      let frozen = false;
      const thaw = (): void => {
        if (frozen) process.kill(card.pid, 'SIGCONT');
        frozen = false;
      };
      ui.defer(async () => {
        thaw();
        await card.stop();
      });

      await ui.startFlash(image, card.loop, 3);
      // Freeze the card once part of the image is on it, so the job cannot finish before Cancel is pressed.
      let written = 0;
      while (written < 16 * MiB) {
        written = (await card.stats()).bytesWritten;
        if (written >= size) throw new Error('the whole image was written before the test could freeze the card');
      }
      process.kill(card.pid, 'SIGSTOP');
      frozen = true;
      try {
        await ui.page.getByTestId('phase').filter({ hasText: /^(Writing|Writing and reading back|Reading back)$/ }).waitFor();
        await checkEverySize(ui.page, 'real-mid-flash');
        await ui.page.getByRole('button', { name: 'Cancel' }).click();
        const ask = ui.page.getByRole('alertdialog', { name: 'Stop flashing?' });
        await ask.getByRole('button', { name: 'Stop' }).click();
        await ui.page.getByTestId('phase').filter({ hasText: 'Cancelling' }).waitFor();
      } finally {
        thaw();
      }
      const status = await ui.finalStatus();
      await ui.page.screenshot({ path: artifactPath('real-final-cancelled.png') });
      expect(status).toBe('Cancelled You stopped it before the end.');
      expect(await ui.page.getByTestId('unsafe').count()).toBe(1);
      expect(await ui.page.getByTestId('ranges-verified').textContent()).toBe('0 of 1');
    });
  },
  { loop: true, fuse: true },
);
