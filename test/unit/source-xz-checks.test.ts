/**
 * Every xz integrity check type (none, crc32, crc64, sha256), on both decoder paths (the system xz and the
 * built-in WebAssembly decoder, which learns SHA-256 through xz-check-rewrite.ts), single- and multi-block,
 * through the sparse multi-block path (xz-sparse.ts), concatenated streams, and damaged checks and data.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { openSource } from '../../src/main/engine/source';
import { drain, sampleImage, scratch } from './source-helpers';

const tmp = scratch('xz-checks');
afterAll(() => tmp.cleanup());

const image = sampleImage(3 * 1024 * 1024 + 4321);
const rawPath = tmp.file('image.img');
writeFileSync(rawPath, image);

const CHECKS = ['none', 'crc32', 'crc64', 'sha256'] as const;
const DECODERS = ['auto', 'builtin'] as const;

function xz(name: string, args: string[]): string {
  const out = tmp.file(name);
  writeFileSync(out, execFileSync('xz', ['-c', '-1', ...args, rawPath], { maxBuffer: 1 << 30 }));
  return out;
}

async function decodeAll(path: string, decoder: (typeof DECODERS)[number]): Promise<Buffer> {
  const source = await openSource(path, { decoder });
  try {
    expect(source.decoder).toBe(decoder === 'auto' ? 'xz (system)' : 'xz-decompress (wasm)');
    return (await drain(source)).data;
  } finally {
    await source.close();
  }
}

describe.each(DECODERS)('xz check types, decoder %s', { timeout: 60_000 }, (decoder) => {
  it.each(CHECKS)('--check=%s, one block', async (check) => {
    const path = xz(`one-${check}-${decoder}.xz`, [`--check=${check}`]);
    expect((await decodeAll(path, decoder)).equals(image)).toBe(true);
  });

  it.each(CHECKS)('--check=%s, multi-block (xz -T2 --block-size=1MiB)', async (check) => {
    const path = xz(`multi-${check}-${decoder}.xz`, [`--check=${check}`, '-T2', '--block-size=1MiB']);
    expect((await decodeAll(path, decoder)).equals(image)).toBe(true);
  });

  it('two concatenated streams with different checks (sha256, then crc32), with stream padding', async () => {
    const a = execFileSync('xz', ['-c', '-1', '--check=sha256'], { input: image.subarray(0, 1_000_000) });
    const b = execFileSync('xz', ['-c', '-1', '--check=crc32'], { input: image.subarray(1_000_000) });
    const path = tmp.file(`concat-${decoder}.xz`);
    writeFileSync(path, Buffer.concat([a, Buffer.alloc(8), b]));
    expect((await decodeAll(path, decoder)).equals(image)).toBe(true);
  });

  it('a damaged SHA-256 check is SOURCE_CORRUPT', async () => {
    const path = xz(`bad-check-${decoder}.xz`, ['--check=sha256']);
    const bytes = readFileSync(path);
    // The last block's check is the 32 bytes before the index; the index of one block is 12 bytes here.
    const indexSize = (bytes.readUInt32LE(bytes.length - 8) + 1) * 4;
    bytes[bytes.length - 12 - indexSize - 5]! ^= 0xff;
    writeFileSync(path, bytes);
    const err = await decodeAll(path, decoder).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SOURCE_CORRUPT' });
    expect((err as Error).message).toContain(path);
  });
});

describe('the sparse multi-block path (system xz, only the wanted blocks decoded)', { timeout: 60_000 }, () => {
  it.each(CHECKS)('--check=%s', async (check) => {
    const path = xz(`sparse-${check}.xz`, [`--check=${check}`, '-T2', '--block-size=1MiB']);
    const source = await openSource(path, { decoder: 'auto' });
    try {
      // Wanted: only the second MiB. The other blocks come out as zeros without being decoded.
      const wanted = (start: number, end: number): boolean => start < 2 * 1024 * 1024 && end > 1024 * 1024;
      const parts: Buffer[] = [];
      for await (const chunk of source.stream(wanted)) parts.push(Buffer.from(chunk));
      const out = Buffer.concat(parts);
      expect(out.length).toBe(image.length);
      expect(out.subarray(1024 * 1024, 2 * 1024 * 1024).equals(image.subarray(1024 * 1024, 2 * 1024 * 1024))).toBe(true);
      expect(out.subarray(0, 1024 * 1024).every((b) => b === 0)).toBe(true);
    } finally {
      await source.close();
    }
  });
});
