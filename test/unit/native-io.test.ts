/**
 * The native module (dist/main/sureflash-io.node, built by `node scripts/build.mjs`): CI must have it (without
 * it the engine and the helper fall back to slower paths and the tests of the fast ones would only skip), and
 * its descriptor hand-over works between two ends of a real Unix socket without root.
 */
import { closeSync, constants, fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeIo, nativeIoMissing } from '../../src/main/system/native-io';

const io = nativeIo();

describe('the native module', () => {
  it.runIf(process.env.CI)('is built and loads in CI', () => {
    expect(nativeIoMissing()).toBeNull();
    expect(io).not.toBeNull();
  });

  describe.skipIf(!io)(`hands a descriptor over a Unix socket${io ? '' : ` (skipped: ${nativeIoMissing()})`}`, () => {
    it('passes one descriptor with its message, flags and the sender, and times out when none comes', () => {
      const native = io!;
      const dir = mkdtempSync(join(tmpdir(), 'sureflash-native-'));
      try {
        const file = join(dir, 'f.bin');
        writeFileSync(file, 'x');
        const path = join(dir, 's.sock');
        const listening = native.listenUnix(path);
        const fd = openSync(file, constants.O_RDONLY);
        native.sendFd(path, fd, Buffer.from('token'));
        const got = native.acceptFd(listening, 1000);
        expect(got.payload.toString()).toBe('token');
        expect(got.uid).toBe(process.getuid?.());
        expect(got.pid).toBe(process.pid);
        expect(got.flags & 3).toBe(constants.O_RDONLY);
        expect(got.fd).not.toBe(fd);
        expect(fstatSync(got.fd).ino).toBe(fstatSync(fd).ino);
        closeSync(fd);
        native.closeFd(got.fd);
        expect(() => native.acceptFd(listening, 50)).toThrow(expect.objectContaining({ code: 'ETIMEDOUT' }));
        expect(() => native.sendFd(join(dir, 'none.sock'), 0, Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
        native.closeFd(listening);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
