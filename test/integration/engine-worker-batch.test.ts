import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlashLayout, FlashProgress, FlashReport } from '../../src/shared/report';
import type { FlashJob } from '../../src/main/engine/protocol';
import { startEngineJob } from '../../src/main/engine/worker-client';
import { bmaptoolAvailable, bmaptoolCreate, makeSparseImage } from '../helpers/bmap-fixtures';

// The engine worker (dist/main/engine-worker.cjs) and its parent: each card's report crosses once
// ('target-done'), and the batch at the end is put back together from those reports. Build first.
const MiB = 1024 * 1024;
const layout = {
  size: 8 * MiB,
  extents: Array.from({ length: 40 }, (_, i) => ({ offset: i * 160 * 1024, length: 4096 * (1 + (i % 3)), seed: i + 1 })),
};

describe.skipIf(!bmaptoolAvailable())('the engine worker and its parent', () => {
  let work = '';
  let image = '';
  let bmap = '';
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'sureflash-worker-batch-'));
    image = await makeSparseImage(work, 'small.img', layout);
    bmap = `${image}.bmap`;
    await bmaptoolCreate(image, bmap);
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const job = async (extra: Partial<FlashJob> = {}): Promise<FlashJob> => {
    const targets = ['a.img', 'b.img'].map((name) => join(work, name));
    for (const t of targets) await writeFile(t, Buffer.alloc(0));
    return { mode: 'copy', image, bmapPath: bmap, targets: targets.map((path) => ({ path })), readback: true, verifySource: true, retries: 1, ...extra };
  };

  it("the batch holds each card's report as 'target-done' brought it, in the targets' order, the summary last", async () => {
    const done = new Map<number, FlashReport>();
    const handle = startEngineJob(await job(), { onTargetDone: (target, report) => done.set(target, report) });
    const batch = await handle.done;
    expect(batch.status).toBe('verified');
    expect(batch.cards).toHaveLength(2);
    batch.cards.forEach((card, i) => {
      expect(card).toBe(done.get(i));
      expect(card.target.path).toBe(join(work, i === 0 ? 'a.img' : 'b.img'));
      expect(card.ranges).toHaveLength(40);
      expect(card.ranges.every((r) => r.state === 'verified')).toBe(true);
    });
    expect(Object.keys(batch)).toEqual(['version', 'kind', 'tool', 'mode', 'startedAt', 'finishedAt', 'image', 'bmap', 'status', 'cards', 'summary']);
    expect(batch.summary).toMatchObject({ cards: 2, verified: 2 });
    for (const name of ['a.img', 'b.img']) {
      const written = await readFile(join(work, name));
      const source = await readFile(image);
      for (const e of layout.extents) expect(written.subarray(e.offset, e.offset + e.length).equals(source.subarray(e.offset, e.offset + e.length))).toBe(true);
    }
  });

  it('range changes and the per-range layout are sent by default, and not when the job turns them off; the report has every range either way', async () => {
    for (const rangeChanges of [true, false]) {
      let started: FlashLayout | null = null;
      const changes: FlashProgress['rangeChanges'] = [];
      const handle = startEngineJob(await job({ rangeChanges }), {
        onStarted: (l) => {
          started = l;
        },
        onProgress: (_target, p) => changes.push(...p.rangeChanges),
      });
      const batch = await handle.done;
      const l = started as FlashLayout | null;
      expect(l?.rangeCount).toBe(40);
      expect(l?.ranges).toHaveLength(rangeChanges ? 40 : 0);
      expect(changes.length > 0).toBe(rangeChanges);
      expect(batch.cards.every((c) => c.status === 'verified' && c.ranges.length === 40)).toBe(true);
    }
  });
});
