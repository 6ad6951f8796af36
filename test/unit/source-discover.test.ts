import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bmapCandidates, discoverBmap } from '../../src/main/engine/source';
import { scratch } from './source-helpers';

const tmp = scratch('discover');
afterAll(() => tmp.cleanup());

describe('bmapCandidates (bmaptool order)', () => {
  it('tries IMAGE.bmap, then strips one extension at a time', () => {
    expect(bmapCandidates(join('d', 'os.img.xz'))).toEqual([join('d', 'os.img.xz.bmap'), join('d', 'os.img.bmap'), join('d', 'os.bmap')]);
  });

  it('never strips a dotted directory name, and a leading dot is not an extension', () => {
    expect(bmapCandidates(join('v1.2', 'image'))).toEqual([join('v1.2', 'image.bmap')]);
    expect(bmapCandidates(join('d', '.img'))).toEqual([join('d', '.img.bmap')]);
  });
});

describe('discoverBmap', () => {
  it('prefers the longest name that exists', async () => {
    const dir = tmp.file('a');
    mkdirSync(dir);
    const image = join(dir, 'os.img.xz');
    writeFileSync(image, 'x');
    expect(await discoverBmap(image)).toBeNull();
    writeFileSync(join(dir, 'os.bmap'), '<bmap/>');
    expect(await discoverBmap(image)).toBe(join(dir, 'os.bmap'));
    writeFileSync(join(dir, 'os.img.bmap'), '<bmap/>');
    expect(await discoverBmap(image)).toBe(join(dir, 'os.img.bmap'));
    writeFileSync(join(dir, 'os.img.xz.bmap'), '<bmap/>');
    expect(await discoverBmap(image)).toBe(join(dir, 'os.img.xz.bmap'));
  });

  it('skips a directory that has a bmap name', async () => {
    const dir = tmp.file('b');
    mkdirSync(join(dir, 'os.img.bmap'), { recursive: true });
    writeFileSync(join(dir, 'os.bmap'), '<bmap/>');
    expect(await discoverBmap(join(dir, 'os.img'))).toBe(join(dir, 'os.bmap'));
  });

  it('finds nothing for stdin', async () => {
    expect(await discoverBmap('-')).toBeNull();
  });
});
