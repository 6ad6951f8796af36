import { it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promises as fsp } from 'node:fs';
import { startCard } from '../helpers/card';
import { makeSparseImage, bmaptoolCreate } from '../helpers/bmap-fixtures';
import { runCli } from '../helpers/cli';
it('probe', async () => {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'sp-'));
  const path = await makeSparseImage(dir, 'i.img', { size: 32 * 2**20, extents: [{ offset: 0, length: 16 * 2**20, seed: 3 }] });
  await bmaptoolCreate(path, path + '.bmap');
  const card = await startCard({ size: 32 * 2**20, writeErrors: [{ block: 2000, count: 1 }] });
  const r = await runCli(['copy', '--checksum-retry=2', path, card.loop]);
  console.log(r.code, r.stderr, JSON.stringify(r.report?.ranges), JSON.stringify(r.report?.totals), JSON.stringify(await card.stats()).slice(0, 600));
  await card.stop();
}, 120000);
