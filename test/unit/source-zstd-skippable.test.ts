/**
 * zstd files that start with skippable frames: what `pzstd` writes (a skippable frame before every frame)
 * and a metadata frame before a plain zstd frame. They are zstd, decoded whole and sized from the frame
 * headers, by zstd-napi and by the system zstd (used when zstd-napi's addon does not load).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { openSource } from '../../src/main/engine/source';
import { drain, sampleImage, scratch } from './source-helpers';

const tmp = scratch('zstd-skip');
afterAll(() => tmp.cleanup());
afterEach(() => {
  vi.doUnmock('zstd-napi/binding');
  vi.resetModules();
});

const image = sampleImage(5 * 1024 * 1024 + 321);
const rawPath = tmp.file('image.img');
writeFileSync(rawPath, image);

/** openSource from a fresh module graph in which zstd-napi's addon fails to load (the one thing faked). */
async function openSourceWithoutAddon(): Promise<typeof openSource> {
  vi.resetModules();
  vi.doMock('zstd-napi/binding', () => {
    throw new Error('Cannot find module zstd-napi/build/Release/binding.node');
  });
  return (await import('../../src/main/engine/source/open-source')).openSource;
}

const pzstdPath = tmp.file('image.img.pzst');
execFileSync('pzstd', ['-q', '-f', '-p', '2', '-3', rawPath, '-o', pzstdPath]);

/** A skippable frame (magic 0x184D2A53, 16 bytes of metadata) before a zstd frame that records its size. */
const metaPath = tmp.file('image.img.meta.zst');
{
  const frame = execFileSync('zstd', ['-q', '-c', rawPath], { maxBuffer: 1 << 30 });
  const skippable = Buffer.alloc(8 + 16, 0x61);
  skippable.writeUInt32LE(0x184d2a53, 0);
  skippable.writeUInt32LE(16, 4);
  writeFileSync(metaPath, Buffer.concat([skippable, frame]));
}

describe('skippable frames', () => {
  it('pzstd output really starts with a skippable frame', () => {
    const head = readFileSync(pzstdPath).subarray(0, 4);
    expect(head.readUInt32LE(0) & 0xfffffff0).toBe(0x184d2a50);
  });

  it.each([
    ['pzstd', pzstdPath, null],
    ['a metadata frame', metaPath, image.length],
  ] as const)('%s: zstd-napi decodes the whole image', async (_label, path, size) => {
    const source = await openSource(path, { decoder: 'builtin' });
    try {
      expect(source.compression).toBe('zstd');
      expect(source.decoder).toBe('zstd-napi');
      // pzstd's frames do not record their content size (it is then unknown, not a tiny number).
      expect(source.imageSize).toBe(size);
      expect((await drain(source)).data.equals(image)).toBe(true);
    } finally {
      await source.close();
    }
  });

  it.each([
    ['pzstd', pzstdPath, null],
    ['a metadata frame', metaPath, image.length],
  ] as const)('%s: the system zstd decodes the whole image', async (_label, path, size) => {
    const open = await openSourceWithoutAddon();
    const source = await open(path, { decoder: 'auto' });
    try {
      expect(source.decoder).toBe('zstd (system)');
      expect(source.imageSize).toBe(size);
      expect((await drain(source)).data.equals(image)).toBe(true);
    } finally {
      await source.close();
    }
  });
});
