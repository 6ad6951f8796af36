import { describe, expect, it } from 'vitest';
import { guiText, namesCliFlag } from '../../src/renderer/model/gui-text';

describe('GUI text never names command-line options', () => {
  it('turns the engine\'s advice with retries off into the control that exists', () => {
    const engine = 'block 42 did not hold the written data (retry is off: --checksum-retry=N rewrites such blocks): range 1';
    const text = guiText(engine);
    expect(text).toBe('block 42 did not hold the written data (retries are off: raise "Retries" in Settings to rewrite such blocks): range 1');
    expect(namesCliFlag(text)).toBe(false);
  });

  it('names the bmap file instead of --bmap, and drops a clause about an option the GUI has no control for', () => {
    expect(guiText('/x.bmap is a bmap file, not an image: pass the image and give the bmap with --bmap.')).toBe('/x.bmap is a bmap file, not an image: choose the image itself: Sureflash finds the .bmap next to it.');
    expect(guiText('no checksums; use --bmap FILE to name another')).toBe('no checksums; use a .bmap file next to the image to name another');
    const decoder = guiText('cannot decode zstd: the built-in decoder (zstd-napi) did not load (x); without --decoder builtin an installed zstd program is used instead');
    expect(namesCliFlag(decoder)).toBe(false);
    expect(decoder).toMatch(/^cannot decode zstd: the built-in decoder \(zstd-napi\) did not load \(x\)/);
  });

  it('leaves text without options as it is', () => {
    expect(guiText('The card did not keep what was written.')).toBe('The card did not keep what was written.');
  });
});
