/**
 * Flashing through the real UI in Chromium, against the browser host with the real services and engine:
 * a bmap image to a loop device (keyboard only), a worn card that needs retries, a dead block, and Cancel
 * mid-flash. Root only (loop devices; FUSE for the worn card); the skip says which.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { SparseLayout } from '../helpers/bmap-fixtures';
import { artifactPath } from '../helpers/browser';
import { attachLoop, readDirect } from '../helpers/loop';
import { describeRoot } from '../helpers/root';
import { startWornCard } from '../helpers/worn-card';
import { BLOCK, deviceName, expectMappedBlocksEqual, MiB, tabTo, useUiHarness } from './ui-harness';

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

    await tabTo(page, page.getByRole('button', { name: 'Select target' }));
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Select target' });
    const option = dialog.getByRole('option', { name: deviceName(loop.device) });
    await option.waitFor();
    // Focus starts on the first option; arrows walk the list, Space chooses.
    for (let i = 0; i < 50 && !(await option.evaluate((el) => el === document.activeElement)); i += 1) await page.keyboard.press('ArrowDown');
    await page.keyboard.press(' ');
    expect(await option.getAttribute('aria-selected')).toBe('true');
    await page.screenshot({ path: artifactPath('target-dialog.png') });
    await tabTo(page, dialog.getByRole('button', { name: 'Select' }));
    await page.keyboard.press('Enter');
    expect(await dialog.count()).toBe(0);

    await tabTo(page, page.getByRole('button', { name: 'Flash!' }));
    await page.keyboard.press('Enter');
    // The host asks main's own question in the page; "Cancel" has the focus first.
    const question = page.getByRole('dialog', { name: 'Erase drive?' });
    await question.getByText(deviceName(loop.device)).waitFor();
    expect(await question.getByRole('button', { name: 'Cancel' }).evaluate((el) => el === document.activeElement)).toBe(true);
    await page.screenshot({ path: artifactPath('erase-question.png') });
    await tabTo(page, question.getByRole('button', { name: 'Erase and flash' }));
    await page.keyboard.press('Enter');
    const status = await ui.finalStatus();
    await page.screenshot({ path: artifactPath('final-verified.png') });
    expect(status).toMatch(/^Verified/);
    expect(await page.getByTestId('ranges-verified').textContent()).toBe(`${ranges.length} of ${ranges.length}`);

    await expectMappedBlocksEqual(image, ranges, (offset, length) => readDirect(loop.device, offset, length));
    // A hole of the image (at 2 MiB) was not written: the bmap was used.
    expect((await readDirect(loop.device, 2 * MiB, BLOCK)).equals(Buffer.alloc(BLOCK, 0xaa))).toBe(true);

    // The range map names blocks on keyboard focus.
    await tabTo(page, page.getByTestId('range-map').getByRole('img').first());
    expect(await page.getByTestId('range-info').textContent()).toMatch(new RegExp(`^Range 1: blocks ${ranges[0]?.first}–${ranges[0]?.last}, .*verified`));

    await tabTo(page, page.getByRole('button', { name: 'Save report' }));
    await page.keyboard.press('Enter');
    const saved = ((await page.getByText(/^Report saved to /).textContent()) ?? '').replace(/^Report saved to /, '');
    const report = JSON.parse(await fsp.readFile(saved, 'utf8')) as { kind: string; status: string; cards: { target: { path: string } }[] };
    expect(report).toMatchObject({ kind: 'batch', status: 'verified', cards: [{ status: 'verified', target: { path: loop.device } }] });
  });
});

describeRoot('flashing a loop device without read-back, in Chromium', () => {
  const ui = useUiHarness();

  it('"Read back and verify" off: "Written", not verified, and the blocks are on the device', async () => {
    const layout: SparseLayout = { size: 4 * MiB, extents: [{ offset: 0, length: 512 * 1024 }, { offset: 2 * MiB, length: 4 * BLOCK }] };
    const { path: image, ranges } = await ui.makeImage('unverified.img', layout);
    const targetFile = join(ui.dir, 'unverified-target.bin');
    await fsp.writeFile(targetFile, Buffer.alloc(8 * MiB));
    const loop = await attachLoop(targetFile);
    ui.defer(() => loop.detach());

    const page = await ui.openApp();
    await page.getByRole('checkbox', { name: 'Read back and verify' }).uncheck();
    expect(await page.getByRole('spinbutton', { name: 'Checksum retries' }).isDisabled()).toBe(true);
    await ui.host.pick(image);
    await page.getByRole('button', { name: 'Select image' }).click();
    await page.getByLabel('Image details').waitFor();
    await page.getByRole('button', { name: 'Select target' }).click();
    const dialog = page.getByRole('dialog', { name: 'Select target' });
    await dialog.getByRole('option', { name: deviceName(loop.device) }).click();
    await dialog.getByRole('button', { name: 'Select' }).click();
    await page.getByRole('button', { name: 'Flash!' }).click();
    await ui.answerErase(loop.device, 'erase');
    const status = await ui.finalStatus();
    await page.screenshot({ path: artifactPath('final-written-unverified.png') });
    expect(status).toMatch(/^Written, not verified/);
    expect(await page.getByTestId('ranges-verified').textContent()).toBe(`0 of ${ranges.length}`);
    await expectMappedBlocksEqual(image, ranges, (offset, length) => readDirect(loop.device, offset, length));
    // The setting persists: a fresh page starts with read-back off.
    await page.reload();
    const readback = page.getByRole('checkbox', { name: 'Read back and verify' });
    await expect.poll(() => readback.isChecked(), { timeout: 10_000 }).toBe(false);
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

    await ui.startFlash(image, loop.device, 0, 'cancel');
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
    await page.getByRole('button', { name: 'Select target' }).click();
    const dialog = page.getByRole('dialog', { name: 'Select target' });
    await dialog.waitFor();
    const file = join(ui.dir, 'coming-and-going.bin');
    await fsp.writeFile(file, Buffer.alloc(8 * MiB));
    const loop = await attachLoop(file);
    ui.defer(() => loop.detach());
    const option = dialog.getByRole('option', { name: deviceName(loop.device) });
    await option.waitFor({ timeout: 30_000 });
    await option.click();
    expect(await dialog.getByRole('button', { name: 'Select' }).isEnabled()).toBe(true);
    await loop.detach();
    await option.waitFor({ state: 'detached', timeout: 30_000 });
    expect(await dialog.getByRole('button', { name: 'Select' }).isDisabled()).toBe(true);
  });
});

describeRoot(
  'flashing a worn card through the UI in Chromium',
  () => {
    const ui = useUiHarness();

    it('rewrites what the card did not keep: the retry counter moves, then "Verified"', async () => {
      // The weak block sits in the first range; the large second range keeps the job running (and the
      // progress screen up) after the rewrites, so the counter is on screen before the outcome.
      const layout: SparseLayout = { size: 32 * MiB, extents: [{ offset: 0, length: 3 * MiB }, { offset: 5 * MiB, length: 24 * MiB }] };
      const { path: image, ranges } = await ui.makeImage('worn.img', layout);
      const weakBlock = 10;
      const card = await startWornCard({ size: 48 * MiB, faults: [{ block: weakBlock, count: 2 }] });
      ui.defer(() => card.stop());

      await ui.startFlash(image, card.loop, 3);
      const status = await ui.finalStatus();
      await ui.page.screenshot({ path: artifactPath('final-worn-card-verified.png') });
      expect(status, card.stderr()).toMatch(/^Verified/);
      const seen = await ui.retriesSeen();
      expect(seen[0]).toBe(0);
      expect(Math.max(...seen)).toBeGreaterThanOrEqual(1);
      expect(await ui.page.getByTestId('ranges-retried').textContent()).toBe('1');
      expect(await ui.page.getByText(/^Blocks \d+–\d+: 2 retries/).count()).toBe(1);
      expect((await card.stats()).corruptedWrites).toBe(2);
      await expectMappedBlocksEqual(image, ranges, (offset, length) => card.storedBytes(offset, length));
    });

    it('names a dead block: "Failed" with the blocks that did not hold and what to do', async () => {
      const layout: SparseLayout = { size: 8 * MiB, extents: [{ offset: MiB, length: 2 * MiB }] };
      const { path: image } = await ui.makeImage('dead.img', layout);
      const deadBlock = MiB / BLOCK + 100;
      const card = await startWornCard({ size: 16 * MiB, faults: [{ block: deadBlock, count: -1 }] });
      ui.defer(() => card.stop());

      await ui.startFlash(image, card.loop, 2);
      const status = await ui.finalStatus();
      await ui.page.screenshot({ path: artifactPath('final-dead-block-failed.png') });
      expect(status).toMatch(/^Failed/);
      const line = (await ui.page.getByText(/did not hold data after 2 retries: replace the card\.$/).first().textContent()) ?? '';
      const span = /^Blocks? (\d+)(?:–(\d+))?/.exec(line);
      expect(span, line).not.toBeNull();
      const first = Number(span?.[1]);
      const last = Number(span?.[2] ?? span?.[1]);
      expect(first <= deadBlock && deadBlock <= last, `${line} should name block ${deadBlock}`).toBe(true);
      expect(await ui.page.getByTestId('ranges-failed').textContent()).toBe('1');
      expect(await ui.page.getByText(/Replace the card, or flash again with more retries/).count()).toBe(1);
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
      const report = JSON.parse(await fsp.readFile(path ?? '', 'utf8')) as { status: string; target: { path: string } };
      expect(report).toMatchObject({ status: 'cancelled', target: { path: card.loop } });
    });

    it('cancels mid-flash: "Cancelled"', async () => {
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
        await ui.page.getByTestId('phase').filter({ hasText: /^(Writing|Writing and reading back|Verifying)$/ }).waitFor();
        await ui.page.screenshot({ path: artifactPath('mid-flash.png') });
        await ui.page.getByRole('button', { name: 'Cancel' }).click();
        await ui.page.getByTestId('phase').filter({ hasText: 'Cancelling' }).waitFor();
      } finally {
        thaw();
      }
      const status = await ui.finalStatus();
      await ui.page.screenshot({ path: artifactPath('final-cancelled.png') });
      expect(status).toMatch(/^Cancelled/);
      expect(await ui.page.getByText(/holds a partial image/).count()).toBe(1);
      expect(await ui.page.getByTestId('ranges-verified').textContent()).toBe('0 of 1');
    });
  },
  { loop: true, fuse: true },
);
