/**
 * Bad images through the real UI in Chromium: a corrupted image with a real bmap (the final screen shows the
 * damaged range as failed and says the card was partly overwritten), and a 5-byte text file (warned about
 * before flashing, with a way to go on). Root only (loop devices).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { artifactPath } from '../helpers/browser';
import { attachLoop } from '../helpers/loop';
import { describeRoot } from '../helpers/root';
import { BLOCK, chooseTargets, MiB, useUiHarness } from './ui-harness';

describeRoot('bad images through the UI in Chromium', () => {
  const ui = useUiHarness();

  it('a corrupt image: "Failed", the damaged range listed and drawn as failed (source), the card partly overwritten', async () => {
    // Three ranges; after `bmaptool create`, one byte of the second range is changed in the image.
    const { path: image, ranges } = await ui.makeImage('corrupt.img', {
      size: 16 * MiB,
      extents: [
        { offset: 0, length: 2 * MiB },
        { offset: 6 * MiB, length: MiB },
        { offset: 12 * MiB, length: MiB },
      ],
    });
    const damaged = ranges[1];
    if (!damaged) throw new Error('the bmap has fewer ranges than the layout');
    const fd = await fsp.open(image, 'r+');
    await fd.write(Buffer.from([0x42 ^ 0xff]), 0, 1, damaged.first * BLOCK + 4000);
    await fd.close();
    const targetFile = join(ui.dir, 'corrupt-target.bin');
    await fsp.writeFile(targetFile, Buffer.alloc(20 * MiB));
    const loop = await attachLoop(targetFile);
    ui.defer(() => loop.detach());

    await ui.startFlash(image, loop.device, 3);
    const status = await ui.finalStatus();
    await ui.page.screenshot({ path: artifactPath('real-final-corrupt-image.png') });
    expect(status).toMatch(/^Failed The image file is damaged/);
    expect(await ui.page.getByTestId('unsafe').textContent()).toMatch(/partly overwritten: it holds part of an image and must not be used/);
    expect(await ui.page.getByText('Download the image again, then flash the card again.').count()).toBe(1);
    // The damaged range is named and drawn as failed (source), not left grey as pending (needs the engine
    // to mark it 'source-mismatch' in the report).
    expect(await ui.page.getByTestId('ranges-source').count(), 'no range is marked source-mismatch in the report').toBe(1);
    expect(await ui.page.getByTestId('ranges-source').textContent()).toBe('1 range');
    expect(await ui.page.getByTestId('list-source').locator('li').allTextContents()).toEqual([
      `Range 2, blocks ${damaged.first}–${damaged.last}: the image's data does not match its block map.`,
    ]);
    expect(await ui.page.getByTestId('range-map').locator('[data-paint="source"]').count()).toBeGreaterThan(0);
  });

  it('a 5-byte text file: warned before flashing that it does not look like a disk image, and the user may go on', async () => {
    const notes = join(ui.dir, 'notes.txt');
    await fsp.writeFile(notes, 'hello');
    const targetFile = join(ui.dir, 'notes-target.bin');
    await fsp.writeFile(targetFile, Buffer.alloc(4 * MiB));
    const loop = await attachLoop(targetFile);
    ui.defer(() => loop.detach());

    const page = await ui.openApp();
    await ui.host.pick(notes);
    await page.getByRole('button', { name: 'Select image' }).click();
    await page.getByLabel('Image details').waitFor();
    // Needs main's probe to look for a partition table or filesystem (ImageInfo.diskSignature / the warning).
    expect(await page.getByLabel('Image details').textContent()).toMatch(/does not look like a disk image/);
    await chooseTargets(page, [loop.device]);
    await page.getByRole('button', { name: 'Flash!' }).click();
    const ask = page.getByRole('alertdialog', { name: `Flash ${loop.device}?` });
    expect(await ask.textContent()).toMatch(/does not look like a disk image/);
    await page.screenshot({ path: artifactPath('real-not-a-disk-image.png') });
    await ask.getByRole('button', { name: `Yes, flash ${loop.device}` }).click();
    await ui.answerErase(loop.device, 'erase');
    expect(await ui.finalStatus()).toMatch(/^Verified/);
  });
});
