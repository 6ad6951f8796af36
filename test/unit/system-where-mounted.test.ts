import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMountinfo } from '../../src/main/system/mountinfo';
import { whereMounted } from '../../src/main/system/where-mounted';

// The one mount check. Loop devices with partitions, mounts and swap are in
// test/integration/drives-loop.test.ts (root); here: what needs no root.
const isLinux = process.platform === 'linux';
const rootMount = isLinux
  ? parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).find((m) => m.mountpoint === '/' && m.source.startsWith('/dev/') && existsSync(m.source))
  : undefined;

describe('whereMounted', () => {
  it('answers null, not "nothing mounted", where it cannot tell (not Linux)', async () => {
    expect(await whereMounted('/dev/disk2', 'darwin')).toBeNull();
    expect(await whereMounted('\\\\.\\PhysicalDrive1', 'win32')).toBeNull();
  });

  it.skipIf(!rootMount)('finds / on the device that holds it (needs / on a /dev block device)', async () => {
    expect(await whereMounted(rootMount!.source)).toContain('/');
  });

  it.skipIf(!isLinux)('finds nothing on a device that does not exist (Linux)', async () => {
    expect(await whereMounted('/dev/sureflash-no-such-device')).toEqual([]);
  });
});
