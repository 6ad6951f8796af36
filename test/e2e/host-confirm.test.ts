/**
 * The browser host asks "Erase …?" in the page that asked to flash, with main's own words, and writes
 * nothing until that page says yes: a no, no answer (the page goes away), or a page that does not listen
 * leaves the loop device byte for byte as it was. Answers are taken once, from that page only.
 * Root only (loop devices).
 */
import { promises as fsp } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { DriveInfo, FlashRequest, ImageInfo } from '../../src/shared/api';
import { eraseConfirmation } from '../../src/shared/erase-confirmation';
import { bmaptoolCreate, makeSparseImage } from '../helpers/bmap-fixtures';
import { buildOnce, startHost, type RunningHost } from '../helpers/browser';
import { connectHostApi, type HostApiClient } from '../helpers/host-api';
import { attachLoop, readDirect, type LoopDevice } from '../helpers/loop';
import { describeRoot } from '../helpers/root';
import { MiB } from './ui-harness';

const CARD = 8 * MiB;

describeRoot('the browser host asks before it erases a drive', () => {
  let host: RunningHost;
  let dir: string;
  let image: string;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    buildOnce();
    dir = mkdtempSync(join(tmpdir(), 'sureflash-confirm-'));
    image = await makeSparseImage(dir, 'os.img', { size: 4 * MiB, extents: [{ offset: 0, length: MiB }, { offset: 2 * MiB, length: MiB }] });
    await bmaptoolCreate(image, join(dir, 'os.bmap'));
    host = await startHost(['--allow-loop', '--save-dir', join(dir, 'reports'), '--user-data-dir', join(dir, 'user-data')]);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  afterAll(async () => {
    await host?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A loop device over a file of 0xAA bytes, and the digest of everything it holds. */
  async function card(name: string): Promise<{ loop: LoopDevice; digest(): Promise<string> }> {
    const file = join(dir, `${name}.bin`);
    await fsp.writeFile(file, Buffer.alloc(CARD, 0xaa));
    const loop = await attachLoop(file);
    cleanups.push(() => loop.detach());
    return { loop, digest: async () => createHash('sha256').update(await readDirect(loop.device, 0, CARD)).digest('hex') };
  }
  const untouched = createHash('sha256').update(Buffer.alloc(CARD, 0xaa)).digest('hex');

  async function page(listen: ('flash' | 'confirm')[] = ['flash', 'confirm']): Promise<HostApiClient> {
    const client = await connectHostApi(host);
    cleanups.push(() => client.close());
    for (const event of listen) client.listen(event);
    return client;
  }
  const request = (device: string): FlashRequest => ({ imagePath: image, devices: [device], readback: true, retries: 0, acknowledged: [] });

  it('asks with main\'s own words, and a "no" writes nothing: NOT_CONFIRMED, "nothing was written"', async () => {
    const { loop, digest } = await card('refused');
    const client = await page();
    const flashing = client.call('flash', request(loop.device));
    const question = await client.next('confirm');
    const drives = await client.call<DriveInfo[]>('listDrives');
    const drive = drives.ok ? drives.value.find((d) => d.device === loop.device) : undefined;
    const probed = await client.call<ImageInfo>('probeImage', image);
    if (!drive || !probed.ok) throw new Error('the loop device or the image was not found');
    expect(question).toEqual({ id: expect.any(String), ...eraseConfirmation([drive], probed.value) });
    expect(await client.call('answerConfirm', question.id, false)).toEqual({ ok: true, value: null });
    expect(await flashing).toEqual({ ok: false, error: { code: 'NOT_CONFIRMED', message: `Not confirmed: nothing was written to ${loop.device}.` } });
    expect(client.seen('flash')).toEqual([]);
    expect(await digest()).toBe(untouched);
  });

  it('never writes while the question waits, and a page that goes away without answering is a "no"', async () => {
    const { loop, digest } = await card('unanswered');
    const client = await page();
    void client.call('flash', request(loop.device)).catch(() => undefined);
    const question = await client.next('confirm');
    // The question is waiting: the drive is busy (held for this job) and untouched.
    const other = await page();
    expect(await other.call('flash', request(loop.device))).toMatchObject({ ok: false, error: { code: 'TARGET_BUSY' } });
    expect(await digest()).toBe(untouched);
    expect(other.seen('confirm')).toEqual([]);
    const dropped = (): number => host.stderr().split('went away without answering "Erase drive?": taken as no').length - 1;
    const before = dropped();
    await client.close();
    while (dropped() === before) await new Promise((resolve) => setTimeout(resolve, 50));
    // The unanswered flash was dropped: the drive is free again, and still untouched.
    const again = other.call('flash', request(loop.device));
    const second = await other.next('confirm');
    expect(second.id).not.toBe(question.id);
    await other.call('answerConfirm', second.id, false);
    expect(await again).toMatchObject({ ok: false, error: { code: 'NOT_CONFIRMED' } });
    expect(await digest()).toBe(untouched);
  });

  it('takes "no" from a page that does not listen for questions (nobody could see it)', async () => {
    const { loop, digest } = await card('deaf');
    const client = await page(['flash']);
    expect(await client.call('flash', request(loop.device))).toMatchObject({ ok: false, error: { code: 'NOT_CONFIRMED' } });
    expect(host.stderr()).toMatch(/does not listen for questions: "Erase drive\?" taken as no/);
    expect(await digest()).toBe(untouched);
  });

  it('takes the answer once, from the asking page only; a "yes" flashes: Verified', async () => {
    const { loop, digest } = await card('accepted');
    const client = await page();
    const stranger = await page();
    const flashing = client.call<{ jobId: string }>('flash', request(loop.device));
    const question = await client.next('confirm');
    expect(stranger.seen('confirm')).toEqual([]);
    const notWaiting = { ok: false, error: { code: 'USAGE', message: expect.stringMatching(/^No question with this id is waiting for an answer/) } };
    expect(await stranger.call('answerConfirm', question.id, true)).toMatchObject(notWaiting);
    expect(await client.call('answerConfirm', 'made-up-id', true)).toMatchObject(notWaiting);
    expect(await digest()).toBe(untouched);
    expect(await client.call('answerConfirm', question.id, true)).toEqual({ ok: true, value: null });
    expect(await client.call('answerConfirm', question.id, false)).toMatchObject(notWaiting);
    const started = await flashing;
    if (!started.ok) throw new Error(started.error.message);
    const end = await client.jobEnd(started.value.jobId);
    expect(end.type === 'done' && end.report.status).toBe('verified');
    expect(await digest()).not.toBe(untouched);
    // The job's events went to its own page only.
    expect(stranger.seen('flash')).toEqual([]);
  });
});
