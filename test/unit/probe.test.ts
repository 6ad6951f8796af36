import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSync, ftruncateSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { NO_BMAP_WARNING, NO_CHECKSUMS_WARNING, NOT_A_DISK_WARNING, probeImage, runningProbeWorkers } from '../../src/main/engine/probe';
import { resealBmap } from '../helpers/bmap-fixtures';
import { useFreshProbeWorker } from './probe-helpers';
import { run, scratch } from './source-helpers';

const tmp = scratch('probe');
beforeAll(async () => {
  await useFreshProbeWorker();
});
afterAll(() => tmp.cleanup());

/** A sparse 8 MiB image with 3 data extents, and its bmap made by the real bmaptool. */
function sparseImage(name: string, bmapArgs: string[] = []): { image: string; bmap: string; size: number } {
  const image = tmp.file(name);
  const size = 8 * 1024 * 1024;
  const fd = openSync(image, 'w');
  ftruncateSync(fd, size);
  for (const at of [0, 3 * 1024 * 1024, size - 8192]) writeSync(fd, randomBytes(8192), 0, 8192, at);
  closeSync(fd);
  const bmap = `${image}.bmap`;
  run('bmaptool', ['create', ...bmapArgs, '-o', bmap, image]);
  return { image, bmap, size };
}

describe('probeImage', () => {
  it('a raw image with its bmap next to it', async () => {
    const { image, bmap, size } = sparseImage('raw.img');
    const info = await probeImage(image);
    expect(info).toMatchObject({ path: image, name: 'raw.img', fileSize: size, compression: 'none', imageSize: size, diskSignature: null });
    // Random bytes, no partition table: the one warning says so.
    expect(info.warnings).toEqual([NOT_A_DISK_WARNING]);
    expect(info.bmap).toMatchObject({ path: bmap, version: '2.0', checksumType: 'sha256', imageSize: size, blockSize: 4096 });
    expect(info.bmap!.mappedBytes).toBe(3 * 8192);
    expect(info.bmap!.rangesCount).toBe(3);
  });

  it('an .img.xz finds os.img.bmap and knows the size from the xz index', async () => {
    const { image, bmap, size } = sparseImage('os.img');
    run('xz', ['-k', '-1', image]);
    const info = await probeImage(`${image}.xz`);
    expect(info.compression).toBe('xz');
    expect(info.imageSize).toBe(size);
    expect(info.fileSize).toBe(readFileSync(`${image}.xz`).length);
    expect(info.bmap?.path).toBe(bmap);
  });

  it('a gzip image takes its size from the bmap', async () => {
    const { image, size } = sparseImage('gz.img');
    run('gzip', ['-k', image]);
    const info = await probeImage(`${image}.gz`);
    expect(info.compression).toBe('gzip');
    expect(info.imageSize).toBe(size);
  });

  it('no bmap -> a plain warning, bmap null', async () => {
    const image = tmp.file('alone.img');
    writeFileSync(image, randomBytes(10000));
    const info = await probeImage(image);
    expect(info.bmap).toBeNull();
    expect(info.warnings).toEqual([NO_BMAP_WARNING, NOT_A_DISK_WARNING]);
  });

  it('bmapPath null writes without a bmap even when one is next to the image', async () => {
    const { image } = sparseImage('skip.img');
    const info = await probeImage(image, { bmapPath: null });
    expect(info.bmap).toBeNull();
    expect(info.warnings).toEqual([NO_BMAP_WARNING, NOT_A_DISK_WARNING]);
  });

  it('a bmap without checksums -> warning', async () => {
    const { image } = sparseImage('nock.img', ['--no-checksum']);
    const info = await probeImage(image);
    expect(info.bmap?.checksumType).toBeNull();
    expect(info.warnings).toEqual([NO_CHECKSUMS_WARNING, NOT_A_DISK_WARNING]);
  });

  it('an invalid bmap next to the image is an error, not a warning', async () => {
    const image = tmp.file('broken.img');
    writeFileSync(image, randomBytes(10000));
    writeFileSync(`${image}.bmap`, '<?xml version="1.0"?>\n<bmap version="2.0">\n<ImageSize>oops</ImageSize>\n</bmap>\n');
    await expect(probeImage(image)).rejects.toMatchObject({ code: 'BMAP_INVALID' });
  });

  it('a bmap for another image size -> IMAGE_SIZE_MISMATCH', async () => {
    const { bmap } = sparseImage('other.img');
    const image = tmp.file('small.img');
    writeFileSync(image, randomBytes(10000));
    const err = await probeImage(image, { bmapPath: bmap }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IMAGE_SIZE_MISMATCH' });
    expect((err as Error).message).toContain(bmap);
  });

  it('the bmap given as the image -> IMAGE_IS_BMAP', async () => {
    const { bmap } = sparseImage('mixup.img');
    await expect(probeImage(bmap)).rejects.toMatchObject({ code: 'IMAGE_IS_BMAP' });
  });

  it('a missing image -> IMAGE_NOT_FOUND', async () => {
    await expect(probeImage(tmp.file('gone.img'))).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND' });
  });
});

/** A valid one-line bmap of `ranges` one-block ranges for an image of 2 x ranges blocks (tens of MB for a million). */
function bigBmap(path: string, ranges: number): number {
  const parts: string[] = [];
  for (let i = 0; i < ranges; i++) parts.push(`<Range>${i * 2}</Range>`);
  const xml =
    `<?xml version="1.0" ?><bmap version="2.0"><ImageSize>${ranges * 2 * 4096}</ImageSize><BlockSize>4096</BlockSize>` +
    `<BlocksCount>${ranges * 2}</BlocksCount><MappedBlocksCount>${ranges}</MappedBlocksCount><ChecksumType>sha256</ChecksumType>` +
    `<BmapFileChecksum>${'0'.repeat(64)}</BmapFileChecksum><BlockMap>${parts.join('')}</BlockMap></bmap>`;
  writeFileSync(path, resealBmap(xml));
  return ranges * 2 * 4096;
}

describe('probeImage runs in a worker thread', { timeout: 60_000 }, () => {
  it('the probe is answered by a worker, which is gone afterwards', async () => {
    const image = tmp.file('worker.img');
    writeFileSync(image, randomBytes(8192));
    const pending = probeImage(image, { bmapPath: null });
    expect(runningProbeWorkers.size).toBe(1);
    expect((await pending).imageSize).toBe(8192);
    expect(runningProbeWorkers.size).toBe(0);
  });

  it('a big bmap is parsed there while this thread stays free', async () => {
    const image = tmp.file('big.img');
    const bmap = tmp.file('big.bmap');
    const size = bigBmap(bmap, 300_000);
    const fd = openSync(image, 'w');
    ftruncateSync(fd, size);
    closeSync(fd);
    let turns = 0;
    let spinning = true;
    const spin = (): void => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const info = await probeImage(image, { bmapPath: bmap });
    spinning = false;
    expect(info.bmap?.rangesCount).toBe(300_000);
    // This thread kept taking turns on its event loop while the worker parsed.
    expect(turns).toBeGreaterThan(10);
  });

  it('an abort ends the probe with CANCELLED and ends its worker', async () => {
    const image = tmp.file('cancel.img');
    const bmap = tmp.file('cancel.bmap');
    const size = bigBmap(bmap, 300_000);
    writeFileSync(image, Buffer.alloc(0));
    const fd = openSync(image, 'w');
    ftruncateSync(fd, size);
    closeSync(fd);
    const controller = new AbortController();
    const pending = probeImage(image, { bmapPath: bmap, signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(runningProbeWorkers.size).toBe(0);
  });

  it('a probe past its time limit is stopped with a message naming the file', async () => {
    const image = tmp.file('slow.img');
    const bmap = tmp.file('slow.bmap');
    const size = bigBmap(bmap, 300_000);
    const fd = openSync(image, 'w');
    ftruncateSync(fd, size);
    closeSync(fd);
    const err = await probeImage(image, { bmapPath: bmap, timeoutMs: 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IMAGE_UNREADABLE' });
    expect((err as Error).message).toContain(`Reading ${image} took longer than`);
  });

  it('a FIFO given as the bmap is refused by name, without waiting for a writer', async () => {
    const image = tmp.file('fifo-bmap.img');
    writeFileSync(image, randomBytes(8192));
    const fifo = tmp.file('no-writer.bmap');
    run('mkfifo', [fifo]);
    const err = await probeImage(image, { bmapPath: fifo }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BMAP_INVALID' });
    expect((err as Error).message).toContain(`"${fifo}" is invalid: it is a FIFO (named pipe), not a regular file`);
  });
});

describe('probeImage and archives', () => {
  it('a .bmap inside a tar is shown when none is next to it, as the engine will use it', async () => {
    const { image } = sparseImage('inside.img');
    run('tar', ['-cf', tmp.file('inside.tar'), '-C', tmp.dir, 'inside.img', 'inside.img.bmap']);
    const info = await probeImage(tmp.file('inside.tar'));
    expect(info.member).toBe('inside.img');
    expect(info.bmap?.path).toBe(`${tmp.file('inside.tar')} (bmap inside the archive)`);
    expect(info.bmap?.rangesCount).toBe(3);
    expect(info.imageSize).toBe(readFileSync(image).length);
  });
});
