/**
 * The app's station when it may not write the cards itself: main's services (createMainServices, as the app
 * wires them) pin each card it cannot write and the engine takes it through the privileged helper, started per
 * card by the "prompt" — here the helper's own command line run as a plain child (no sudo in tests; the tests
 * run as root, so "cannot write" is told to the services). The station serves only loop80–loop84's slots, so it
 * never takes a loop device another test attaches meanwhile. Build first: `node scripts/build.mjs`.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ElevatedLauncher } from '../../src/main/privilege/run-elevated';
import { createMainServices } from '../../src/main/services/main-services';
import type { StationCardResult, StationEvent } from '../../src/shared/station';
import { bmaptoolCreate, makeSparseImage } from '../helpers/bmap-fixtures';
import { childLauncher, requireHelperBuilt } from '../helpers/helper-process';
import { isLoopAttached, run } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

const MiB = 1024 * 1024;
const FIRST = 80;
const LAST = 84;
const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describeRoot('the app station on cards it cannot write: each served by the privileged helper (needs root: loop devices)', () => {
  let dir = '';
  const attached: string[] = [];
  beforeAll(async () => {
    requireHelperBuilt();
    for (let n = FIRST; n <= LAST; n += 1) {
      if (isLoopAttached(`/dev/loop${n}`)) throw new Error(`/dev/loop${n} is attached already: this suite needs loop${FIRST}-loop${LAST} free`);
    }
    dir = await fsp.mkdtemp(join(tmpdir(), 'sureflash-station-elevated-'));
  });
  afterAll(async () => {
    for (const device of attached) {
      for (let i = 0; i < 50 && isLoopAttached(device); i += 1) {
        await run('losetup', ['-d', device]);
        if (isLoopAttached(device)) await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('pins each new card, asks once per card, and ends it verified, the image on its media', async () => {
    const image = await makeSparseImage(dir, 'os.img', { size: 12 * MiB, extents: [{ offset: 0, length: 3 * MiB, seed: 41 }, { offset: 8 * MiB, length: MiB, seed: 42 }] });
    await bmaptoolCreate(image, `${image}.bmap`);
    const prompts: string[] = [];
    const launch = childLauncher();
    const granted: ElevatedLauncher = (command) => {
      prompts.push(command.command);
      return launch(command);
    };
    const services = createMainServices({
      allowLoop: true,
      userDataDir: await fsp.mkdtemp(join(dir, 'user-data-')),
      canWrite: async () => false,
      launchElevated: granted,
      stationIntervalMs: 100,
      history: false,
    });
    const events: StationEvent[] = [];
    services.stationService.subscribe((e) => events.push(e));
    await services.stationService.arm({
      imagePath: image,
      retries: 2,
      skipIdentical: false,
      readback: true,
      probe: true,
      maxCards: 2,
      slots: Array.from({ length: LAST - FIRST + 1 }, (_, i) => `/devices/virtual/block/loop${FIRST + i}`),
      maxSizeBytes: null,
      logFile: null,
    });
    const cards = ['a', 'b'].map((name) => join(dir, `${name}.bin`));
    for (const [i, file] of cards.entries()) {
      await fsp.writeFile(file, Buffer.alloc(0));
      await fsp.truncate(file, 32 * MiB);
      const device = `/dev/loop${FIRST + i}`;
      const attach = await run('losetup', [device, file]);
      if (attach.code !== 0) throw new Error(`losetup ${device}: ${attach.stderr}`);
      attached.push(device);
    }
    const done = (): StationCardResult[] => events.flatMap((e) => (e.type === 'card-done' || e.type === 'card-lost' ? [e.result] : []));
    for (let waited = 0; done().length < 2 && waited < 60_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    services.stationService.stop();
    await services.stationService.whenStopped();
    expect(done().map((r) => [r.device, r.verdict]).sort()).toEqual([
      [`/dev/loop${FIRST}`, 'verified'],
      [`/dev/loop${FIRST + 1}`, 'verified'],
    ]);
    // One prompt per card, each the helper's command line for a rendezvous of its own.
    expect(prompts).toHaveLength(2);
    for (const command of prompts) expect(command).toMatch(/dist\/main\/helper\.cjs' '[^']+rendezvous\.json' '0'$/);
    const wanted = sha(await fsp.readFile(image));
    for (const file of cards) expect(sha((await fsp.readFile(file)).subarray(0, 12 * MiB)), file).toBe(wanted);
  });
});
