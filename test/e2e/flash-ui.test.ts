/**
 * Flashing through the real UI in Chromium, against the browser host and the real services and engine:
 * a bmap image to a loop device, a worn card that needs retries, a dead block, and Cancel mid-flash.
 * Root only (loop devices, FUSE); the skip says so.
 */
import { mkdtempSync, promises as fsp, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { bmaptoolAvailable, bmaptoolCreate, makeSparseImage, type SparseLayout } from '../helpers/bmap-fixtures';
import { artifactPath, buildOnce, chromiumAvailable, launchBrowser, startHost, type Browser, type RunningHost } from '../helpers/browser';
import { attachLoop, readDirect, type LoopDevice } from '../helpers/loop';
import { describeRoot } from '../helpers/root';
import { startWornCard, type WornCard } from '../helpers/worn-card';

const MiB = 1024 * 1024;
const BLOCK = 4096;

/** Ranges of a bmap, read with a regular expression (independent of the parser under test). */
function bmapRanges(xml: string): { first: number; last: number }[] {
  return [...xml.matchAll(/<Range[^>]*>\s*(\d+)(?:\s*-\s*(\d+))?\s*<\/Range>/g)].map((m) => ({
    first: Number(m[1]),
    last: Number(m[2] ?? m[1]),
  }));
}

/** Makes `name` (sparse, per layout) and `name` minus ".img" + ".bmap" next to it with bmaptool. */
async function makeImage(dir: string, name: string, layout: SparseLayout): Promise<{ path: string; ranges: { first: number; last: number }[] }> {
  const path = await makeSparseImage(dir, name, layout);
  const xml = await bmaptoolCreate(path, join(dir, name.replace(/\.img$/, '.bmap')));
  return { path, ranges: bmapRanges(xml) };
}

/** Byte-compares the mapped blocks of `image` with `read(offset, length)` of the target. */
async function expectMappedBlocksEqual(image: string, ranges: { first: number; last: number }[], read: (offset: number, length: number) => Promise<Buffer>): Promise<void> {
  const bytes = readFileSync(image);
  for (const range of ranges) {
    const start = range.first * BLOCK;
    const end = Math.min((range.last + 1) * BLOCK, bytes.length);
    const actual = await read(start, end - start);
    expect(actual.equals(bytes.subarray(start, end)), `blocks ${range.first}–${range.last} differ`).toBe(true);
  }
}

const deviceName = (device: string): RegExp => new RegExp(`${device.replace(/[/]/g, '\\/')}(?!\\d)`);

describeRoot('flashing through the UI in Chromium', () => {
  let host: RunningHost;
  let browser: Browser;
  let dir: string;
  let page: Page;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    if (!chromiumAvailable()) throw new Error('Chromium is missing at /usr/bin/chromium (apt-get install chromium)');
    if (!bmaptoolAvailable()) throw new Error('bmaptool is missing (apt-get install bmap-tools)');
    buildOnce();
    dir = mkdtempSync(join(tmpdir(), 'sureflash-e2e-'));
    host = await startHost(['--allow-loop', '--test', '--save-dir', join(dir, 'reports'), '--user-data-dir', join(dir, 'user-data')]);
    browser = await launchBrowser();
  });

  afterEach(async () => {
    await page?.close().catch(() => undefined);
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  afterAll(async () => {
    await browser?.close();
    await host?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Opens the app, watches the retry counter, chooses image, target and retries, and presses Flash!. */
  async function flashThroughUi(image: string, device: string, retries: number): Promise<void> {
    page = await browser.context.newPage();
    await page.goto(host.url);
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { retriesSeen: string[] }).retriesSeen = seen;
      new MutationObserver(() => {
        const text = document.querySelector('[data-testid="retry-count"]')?.textContent;
        if (text != null && seen[seen.length - 1] !== text) seen.push(text);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await host.pick(image);
    await page.getByRole('button', { name: /^(Select|Change) image$/ }).click();
    await page.getByLabel('Image details').getByText(/bmap 2\.0, sha256 checksums/).waitFor();
    await page.getByRole('button', { name: /^(Select|Change) target$/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Select target' });
    await dialog.getByRole('option', { name: deviceName(device) }).click();
    await dialog.getByRole('button', { name: 'Select' }).click();
    await page.getByRole('spinbutton', { name: 'Checksum retries' }).fill(String(retries));
    await page.getByRole('button', { name: 'Flash!' }).click();
  }

  async function finalStatus(timeout = 120_000): Promise<string> {
    const status = page.getByRole('status');
    await status.waitFor({ timeout });
    return (await status.textContent()) ?? '';
  }

  const retriesSeen = (): Promise<number[]> =>
    page.evaluate(() => (window as unknown as { retriesSeen: string[] }).retriesSeen.map(Number));

  it('flashes a bmap image to a loop device: "Verified", and the mapped blocks hold the image', async () => {
    const layout: SparseLayout = {
      size: 32 * MiB,
      extents: [
        { offset: 0, length: MiB },
        { offset: 4 * MiB, length: 2 * MiB + 100 },
        { offset: 16 * MiB + 8192, length: BLOCK },
        { offset: 30 * MiB, length: MiB },
      ],
    };
    const { path: image, ranges } = await makeImage(dir, 'plain.img', layout);
    const targetFile = join(dir, 'plain-target.bin');
    await fsp.writeFile(targetFile, Buffer.alloc(40 * MiB, 0xaa));
    const loop: LoopDevice = await attachLoop(targetFile);
    cleanups.push(() => loop.detach());

    await flashThroughUi(image, loop.device, 3);
    const status = await finalStatus();
    await page.screenshot({ path: artifactPath('final-verified.png') });
    expect(status).toMatch(/^Verified/);
    expect(await page.getByTestId('ranges-verified').textContent()).toBe(`${ranges.length} of ${ranges.length}`);

    await expectMappedBlocksEqual(image, ranges, (offset, length) => readDirect(loop.device, offset, length));
    // A hole of the image (block 2 MiB / 4 KiB) was not written: the bmap was used.
    expect((await readDirect(loop.device, 2 * MiB, BLOCK)).equals(Buffer.alloc(BLOCK, 0xaa))).toBe(true);

    await page.getByRole('button', { name: 'Save report' }).click();
    const saved = ((await page.getByText(/^Report saved to /).textContent()) ?? '').replace(/^Report saved to /, '');
    const report = JSON.parse(await fsp.readFile(saved, 'utf8')) as { status: string; target: { path: string } };
    expect(report).toMatchObject({ status: 'verified', target: { path: loop.device } });
  });

  it('rewrites what a worn card did not keep: the retry counter moves, then "Verified"', async () => {
    const layout: SparseLayout = { size: 8 * MiB, extents: [{ offset: 0, length: 3 * MiB }, { offset: 5 * MiB, length: MiB }] };
    const { path: image, ranges } = await makeImage(dir, 'worn.img', layout);
    const weakBlock = (5 * MiB) / BLOCK + 10;
    const card: WornCard = await startWornCard({ size: 16 * MiB, faults: [{ block: weakBlock, count: 2 }] });
    cleanups.push(() => card.stop());

    await flashThroughUi(image, card.loop, 3);
    const status = await finalStatus();
    await page.screenshot({ path: artifactPath('final-worn-card-verified.png') });
    expect(status, card.stderr()).toMatch(/^Verified/);
    const seen = await retriesSeen();
    expect(seen[0]).toBe(0);
    expect(Math.max(...seen)).toBeGreaterThanOrEqual(1);
    expect(await page.getByTestId('ranges-retried').textContent()).toBe('1');
    expect((await card.stats()).corruptedWrites).toBe(2);
    await expectMappedBlocksEqual(image, ranges, (offset, length) => card.storedBytes(offset, length));
  });

  it('names the dead block: "Failed" with the blocks that did not hold and what to do', async () => {
    const layout: SparseLayout = { size: 8 * MiB, extents: [{ offset: MiB, length: 2 * MiB }] };
    const { path: image } = await makeImage(dir, 'dead.img', layout);
    const deadBlock = MiB / BLOCK + 100;
    const card = await startWornCard({ size: 16 * MiB, faults: [{ block: deadBlock, count: -1 }] });
    cleanups.push(() => card.stop());

    await flashThroughUi(image, card.loop, 2);
    const status = await finalStatus();
    await page.screenshot({ path: artifactPath('final-dead-block-failed.png') });
    expect(status).toMatch(/^Failed/);
    const line = (await page.getByText(/did not hold data after 2 retries: replace the card\.$/).first().textContent()) ?? '';
    const span = /^Blocks? (\d+)(?:–(\d+))?/.exec(line);
    expect(span, line).not.toBeNull();
    const first = Number(span?.[1]);
    const last = Number(span?.[2] ?? span?.[1]);
    expect(first <= deadBlock && deadBlock <= last, `${line} should name block ${deadBlock}`).toBe(true);
    expect(await page.getByTestId('ranges-failed').textContent()).toBe('1');
    expect(await page.getByText(/Replace the card, or flash again with more retries/).count()).toBe(1);
  });

  it('cancels mid-flash: "Cancelled"', async () => {
    // A slow card (4 KiB FUSE writes) and 96 MiB of data leave time to press Cancel.
    const layout: SparseLayout = { size: 96 * MiB, extents: [{ offset: 0, length: 96 * MiB }] };
    const { path: image } = await makeImage(dir, 'big.img', layout);
    const card = await startWornCard({ size: 128 * MiB, maxWrite: 4096 });
    cleanups.push(() => card.stop());

    await flashThroughUi(image, card.loop, 3);
    // Wait until bytes are moving, then show the live screen and cancel.
    await page.getByTestId('percent').filter({ hasText: /^([1-9]\d?)%/ }).waitFor({ timeout: 60_000 });
    await page.screenshot({ path: artifactPath('mid-flash.png') });
    await page.getByRole('button', { name: 'Cancel' }).click();
    const status = await finalStatus();
    await page.screenshot({ path: artifactPath('final-cancelled.png') });
    expect(status).toMatch(/^Cancelled/);
    expect(await page.getByText(/holds a partial image/).count()).toBe(1);
  });
}, { loop: true, fuse: true });
