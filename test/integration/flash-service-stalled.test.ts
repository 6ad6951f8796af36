/**
 * The app's flash service (createMainServices, as the app wires it) on a card that hangs before the flash:
 * identifying the card (its fingerprint is read before a copy, for the history) gives up after the I/O time
 * limit, so the flash starts and the engine ends the card DEVICE_STALLED instead of the job never starting.
 * The FUSE card stands in for the hanging card. Build first: `node scripts/build.mjs`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { FlashEvent } from '../../src/shared/api';
import { createApiCore } from '../../src/main/services/api-core';
import { createMainServices } from '../../src/main/services/main-services';
import { bmaptoolCreate, makeSparseImage } from '../helpers/bmap-fixtures';
import { startCard, type Card } from '../helpers/card';
import { describeRoot } from '../helpers/root';

const MiB = 1024 * 1024;

describeRoot(
  'the flash service on a card that hangs before the flash (needs root: loop devices, /dev/fuse)',
  () => {
    const work = mkdtempSync(join(tmpdir(), 'sureflash-stalled-service-'));
    let card: Card | null = null;
    afterAll(async () => {
      await card?.stop();
      rmSync(work, { recursive: true, force: true });
    });

    it('starts the flash after the I/O time limit and ends the card DEVICE_STALLED, saying why', async () => {
      const image = await makeSparseImage(work, 'os.img', { size: 8 * MiB, extents: [{ offset: 0, length: 2 * MiB, seed: 61 }] });
      await bmaptoolCreate(image, `${image}.bmap`);
      card = await startCard({ size: 32 * MiB });
      const logs: string[] = [];
      const services = createMainServices({
        allowLoop: true,
        userDataDir: mkdtempSync(join(work, 'user-data-')),
        ioTimeoutMs: 1500,
        log: (_level, message) => logs.push(message),
      });
      const core = createApiCore(services, { pickImage: async () => null, saveReportPath: async () => null });
      const events: FlashEvent[] = [];
      services.flash.subscribe((e) => events.push(e));
      await card.stall();
      const started = await core.flash({ imagePath: image, devices: [card.loop], readback: true, retries: 1, acknowledged: [] });
      if (!started.ok) throw new Error(started.error.message);
      let last: FlashEvent | undefined;
      for (let waited = 0; !last && waited < 30_000; waited += 50) {
        last = events.find((e) => e.jobId === started.value.jobId && (e.type === 'done' || e.type === 'error'));
        if (!last) await new Promise((r) => setTimeout(r, 50));
      }
      expect(last).toMatchObject({ type: 'done', report: { cards: [{ error: { code: 'DEVICE_STALLED' } }] } });
      expect(logs.join('\n')).toContain(`${card.loop} did not answer reading its fingerprint within 2 s`);
      await card.resume();
    }, 60_000);
  },
  { fuse: true },
);
