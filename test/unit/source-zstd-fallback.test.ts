/**
 * When zstd-napi's native addon does not load (a platform without a prebuilt or compiled binding), .zst
 * images fall back to the system zstd with "auto", and are refused before anything is written with
 * "builtin". The failed load is the one thing faked here: it cannot be produced on a machine where the
 * addon is built.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.doUnmock('zstd-napi/binding');
  vi.resetModules();
});

async function decodersWithoutAddon(): Promise<typeof import('../../src/main/engine/source/decoders')> {
  vi.resetModules();
  vi.doMock('zstd-napi/binding', () => {
    throw new Error('Cannot find module zstd-napi/build/Release/binding.node');
  });
  return import('../../src/main/engine/source/decoders');
}

describe('zstd without its addon', () => {
  it('auto uses the system zstd program', async () => {
    const { chooseDecoder } = await decodersWithoutAddon();
    expect((await chooseDecoder('zstd', 'auto')).name).toBe('zstd (system)');
  });

  it('builtin refuses with IMAGE_UNREADABLE naming the addon, before any decoding', async () => {
    const { chooseDecoder } = await decodersWithoutAddon();
    await expect(chooseDecoder('zstd', 'builtin')).rejects.toMatchObject({
      code: 'IMAGE_UNREADABLE',
      message: expect.stringContaining('zstd-napi'),
    });
  });

  it('with the addon, both preferences decode in-process', async () => {
    vi.resetModules();
    const { chooseDecoder } = await import('../../src/main/engine/source/decoders');
    expect((await chooseDecoder('zstd', 'auto')).name).toBe('zstd-napi');
    expect((await chooseDecoder('zstd', 'builtin')).name).toBe('zstd-napi');
  });
});
