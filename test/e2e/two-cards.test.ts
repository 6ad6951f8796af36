/**
 * Two cards in one job through the real UI in Chromium: both loop devices checked in the picker, one tile
 * each while flashing, one verdict each on the final screen, both byte-exact afterwards, and the batch
 * report saved. Root only (loop devices). Needs main to flash several drives per job.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { artifactPath } from '../helpers/browser';
import { attachLoop, readDirect } from '../helpers/loop';
import { describeRoot } from '../helpers/root';
import { expectMappedBlocksEqual, MiB, useUiHarness } from './ui-harness';

describeRoot('two cards at once through the UI in Chromium', () => {
  const ui = useUiHarness();

  it('flashes both: a tile each, a verdict each, both hold the image, one batch report', async () => {
    const { path: image, ranges } = await ui.makeImage('two.img', {
      size: 24 * MiB,
      extents: [
        { offset: 0, length: 3 * MiB },
        { offset: 8 * MiB, length: 5 * MiB },
        { offset: 20 * MiB, length: MiB },
      ],
    });
    const loops = [];
    for (const name of ['card-a.bin', 'card-b.bin']) {
      const file = join(ui.dir, name);
      await fsp.writeFile(file, Buffer.alloc(32 * MiB, 0x33));
      const loop = await attachLoop(file);
      ui.defer(() => loop.detach());
      loops.push(loop);
    }
    const devices = loops.map((l) => l.device);

    await ui.startFlash(image, devices, 3);
    // Main refuses several drives per job until it can flash them: say so instead of waiting.
    await ui.page.getByRole('list', { name: 'Cards' }).or(ui.page.getByRole('alert')).first().waitFor();
    expect(await ui.page.getByRole('alert').allTextContents()).toEqual([]);
    const status = await ui.finalStatus();
    await ui.page.screenshot({ path: artifactPath('real-final-two-cards.png') });
    expect(status).toMatch(/^Verified/);
    expect(await ui.page.getByTestId('batch-headline').textContent()).toBe('All 2 cards verified');
    const verdicts = await ui.page.getByRole('status').allTextContents();
    expect(verdicts.map((v) => v.split(' ')[0])).toEqual(['Verified', 'Verified']);
    for (const loop of loops) await expectMappedBlocksEqual(image, ranges, (offset, length) => readDirect(loop.device, offset, length));

    await ui.page.getByRole('button', { name: 'Save report' }).click();
    const saved = (await ui.page.locator('.saved .truncate-box').getAttribute('title')) ?? '';
    const report = JSON.parse(await fsp.readFile(saved, 'utf8')) as { kind: string; status: string; cards: { status: string; target: { path: string } }[] };
    expect(report.kind).toBe('batch');
    expect(report.status).toBe('verified');
    expect(report.cards.map((c) => c.target.path).sort()).toEqual([...devices].sort());
  });
});
