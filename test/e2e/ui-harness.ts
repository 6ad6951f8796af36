/**
 * Shared set-up for the flash-through-the-UI suites: one browser host (real services, loop devices
 * allowed, test pick endpoint) and one headless Chromium per suite, a fresh page per test, and helpers
 * that drive the app the way a user does.
 */
import { mkdtempSync, promises as fsp, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { bmaptoolAvailable, bmaptoolCreate, makeSparseImage, type SparseLayout } from '../helpers/bmap-fixtures';
import { buildOnce, chromiumAvailable, launchBrowser, startHost, type Browser, type RunningHost } from '../helpers/browser';

export const MiB = 1024 * 1024;
export const BLOCK = 4096;

export type BlockRange = { first: number; last: number };

/** Ranges of a bmap, read with a regular expression (independent of the parser under test). */
export function bmapRanges(xml: string): BlockRange[] {
  return [...xml.matchAll(/<Range[^>]*>\s*(\d+)(?:\s*-\s*(\d+))?\s*<\/Range>/g)].map((m) => ({
    first: Number(m[1]),
    last: Number(m[2] ?? m[1]),
  }));
}

/** Byte-compares the mapped blocks of `image` with `read(offset, length)` of the target. */
export async function expectMappedBlocksEqual(image: string, ranges: BlockRange[], read: (offset: number, length: number) => Promise<Buffer>): Promise<void> {
  const bytes = readFileSync(image);
  for (const range of ranges) {
    const start = range.first * BLOCK;
    const end = Math.min((range.last + 1) * BLOCK, bytes.length);
    const actual = await read(start, end - start);
    expect(actual.equals(bytes.subarray(start, end)), `blocks ${range.first}–${range.last} differ`).toBe(true);
  }
}

/** Checkbox names start with the device path; /dev/loop1 must not match /dev/loop10. */
export const deviceName = (device: string): RegExp => new RegExp(`^${device.replace(/[/]/g, '\\/')}(?!\\d)`);
/** The device path anywhere in a text ("Erase Loop device (/dev/loop1, 8 MB)"); /dev/loop1 must not match /dev/loop10. */
export const mentionsDevice = (device: string): RegExp => new RegExp(`${device.replace(/[/]/g, '\\/')}(?!\\d)`);

/**
 * Checks exactly `devices` in the open target dialog and confirms. Other drives may be listed (the machine's
 * own loop devices): every other box is unchecked first, and the target step must then name exactly these.
 */
export async function chooseTargets(page: Page, devices: string[]): Promise<void> {
  await page.getByRole('button', { name: /^(Select|Change) target$/ }).click();
  const dialog = page.getByRole('dialog', { name: 'Select target' });
  await dialog.waitFor();
  for (const device of devices) await dialog.getByRole('checkbox', { name: deviceName(device) }).waitFor({ timeout: 30_000 });
  const boxes = dialog.getByRole('list', { name: 'Drives' }).getByRole('checkbox');
  for (const box of await boxes.all()) if (await box.isChecked()) await box.uncheck();
  for (const device of devices) await dialog.getByRole('checkbox', { name: deviceName(device) }).check();
  await dialog.getByRole('button', { name: 'Select' }).click();
  await expectTargets(page, devices);
}

/** The target step names exactly `devices` (never a drive the test did not make). */
export async function expectTargets(page: Page, devices: string[]): Promise<void> {
  const target = page.getByLabel('Chosen target');
  if (devices.length === 1) await target.getByText(new RegExp(` · ${devices[0]}$`)).waitFor();
  else {
    // The step lists them in the drive list's order, not in the order they were checked.
    const shown = (await target.getByTestId('target-devices').getAttribute('title')) ?? '';
    expect(shown.split(', ').sort()).toEqual([...devices].sort());
  }
}

/** Opens Settings, applies `retries` (and read back), closes it. */
export async function setRetries(page: Page, retries: number, readback = true): Promise<void> {
  await page.getByRole('button', { name: 'Settings', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Settings' });
  const box = dialog.getByRole('checkbox', { name: 'Read back and verify' });
  if ((await box.isChecked()) !== readback) await box.click();
  if (readback) await dialog.getByRole('spinbutton', { name: 'Retries' }).fill(String(retries));
  await dialog.getByRole('button', { name: 'Done' }).click();
}

/** Presses Tab until `target` has focus (fails after `max` presses): proves it is keyboard reachable. */
export async function tabTo(page: Page, target: Locator, max = 25): Promise<void> {
  for (let i = 0; i < max; i += 1) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`could not reach ${target.toString()} with Tab in ${max} presses`);
}

export interface UiHarness {
  readonly host: RunningHost;
  readonly dir: string;
  readonly page: Page;
  /** Registers a clean-up to run after the current test. */
  defer(cleanup: () => Promise<void>): void;
  /** Makes a sparse image and its bmap (bmaptool create) next to it; returns the path and the bmap ranges. */
  makeImage(name: string, layout: SparseLayout): Promise<{ path: string; ranges: BlockRange[] }>;
  /** Opens the app in a fresh page and records every value the retry counter shows. */
  openApp(): Promise<Page>;
  /**
   * Chooses image, targets and retries with the mouse, presses Flash! (or "Verify without writing") and
   * answers main's question in the page ("Erase …?" / "Check …?").
   */
  startFlash(image: string, devices: string | string[], retries: number, mode?: 'copy' | 'verify', answer?: 'erase' | 'cancel'): Promise<void>;
  /** Waits for the host's question about `devices` in the page and answers it with the mouse. */
  answerErase(devices: string | string[], answer: 'erase' | 'cancel'): Promise<void>;
  /** Waits for the final screen and returns its status line. */
  finalStatus(timeoutMs?: number): Promise<string>;
  retriesSeen(): Promise<number[]>;
}

/** `env`: added to the host's environment (e.g. GNUPGHOME, whose trustedkeys the app checks signatures with). */
export function useUiHarness(options: { env?: () => NodeJS.ProcessEnv } = {}): UiHarness {
  let host: RunningHost | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let dir = '';
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    if (!chromiumAvailable()) throw new Error('Chromium is missing at /usr/bin/chromium (apt-get install chromium)');
    if (!bmaptoolAvailable()) throw new Error('bmaptool is missing (apt-get install bmap-tools)');
    buildOnce();
    dir = mkdtempSync(join(tmpdir(), 'sureflash-e2e-'));
    host = await startHost(['--allow-loop', '--test', '--io-timeout', '300', '--save-dir', join(dir, 'reports'), '--user-data-dir', join(dir, 'user-data')], 30_000, null, options.env?.() ?? {});
    browser = await launchBrowser();
  });

  afterEach(async () => {
    await page?.close().catch(() => undefined);
    page = undefined;
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  afterAll(async () => {
    await browser?.close();
    await host?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started`);
    return value;
  };

  const harness: UiHarness = {
    get host() {
      return need(host, 'the host');
    },
    get dir() {
      return dir;
    },
    get page() {
      return need(page, 'the page');
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
    async makeImage(name, layout) {
      const path = await makeSparseImage(dir, name, layout);
      // Real OS images start with a partition table: give the test image one (where its first block is
      // mapped anyway), so the app does not ask whether it is a disk image at all.
      if (layout.extents.some((e) => e.offset === 0)) await writeMbr(path);
      const xml = await bmaptoolCreate(path, join(dir, name.replace(/\.img$/, '.bmap')));
      return { path, ranges: bmapRanges(xml) };
    },
    async openApp() {
      page = await need(browser, 'the browser').context.newPage();
      await page.goto(need(host, 'the host').url);
      await page.evaluate(() => {
        const seen: string[] = [];
        (window as unknown as { retriesSeen: string[] }).retriesSeen = seen;
        new MutationObserver(() => {
          const text = document.querySelector('[data-testid="retry-count"]')?.textContent;
          if (text != null && seen[seen.length - 1] !== text) seen.push(text);
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
      });
      return page;
    },
    async answerErase(devices, answer) {
      const list = typeof devices === 'string' ? [devices] : devices;
      const question = harness.page.getByRole('dialog', { name: /^(Erase|Check) drives?\?$/ });
      // An image without a partition table is asked about by the page first ("Flash /dev/…?"): say yes.
      const preflight = harness.page.getByRole('alertdialog', { name: /^(Flash|Verify) .+\?$/ });
      await question.or(preflight).first().waitFor();
      if (answer === 'erase' && (await preflight.count()) > 0) {
        await preflight.getByRole('button', { name: /^Yes, / }).click();
        await question.waitFor();
      }
      for (const device of list) await question.getByText(mentionsDevice(device)).first().waitFor();
      const yes = /^(Erase and flash|Erase and flash all|Check)$/;
      await question.getByRole('button', { name: answer === 'erase' ? yes : 'Cancel' }).click();
      await question.waitFor({ state: 'detached' });
    },
    async startFlash(image, devices, retries, mode = 'copy', answer = 'erase') {
      const p = await harness.openApp();
      await setRetries(p, retries);
      await harness.host.pick(image);
      await p.getByRole('button', { name: /^(Select|Change) image$/ }).click();
      await p.getByLabel('Image details').getByText(/bmap 2\.0, sha256 checksums/).waitFor();
      await chooseTargets(p, typeof devices === 'string' ? [devices] : devices);
      await p.getByRole('button', { name: mode === 'copy' ? 'Flash!' : 'Verify without writing' }).click();
      await harness.answerErase(devices, answer);
    },
    async finalStatus(timeoutMs = 120_000) {
      const status = harness.page.getByRole('status').first();
      await status.waitFor({ timeout: timeoutMs });
      return (await status.textContent()) ?? '';
    },
    retriesSeen() {
      return harness.page.evaluate(() => (window as unknown as { retriesSeen: string[] }).retriesSeen.map(Number));
    },
  };
  return harness;
}

/** Writes a one-partition MBR (type 0x83 from sector 2048) into the first sector of an image file. */
async function writeMbr(path: string): Promise<void> {
  const sector = Buffer.alloc(512);
  sector[446 + 4] = 0x83;
  sector.writeUInt32LE(2048, 446 + 8);
  sector.writeUInt32LE(2048, 446 + 12);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  const handle = await fsp.open(path, 'r+');
  try {
    await handle.write(sector, 0, 512, 0);
  } finally {
    await handle.close();
  }
}
