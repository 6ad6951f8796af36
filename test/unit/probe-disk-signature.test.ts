/**
 * "Is this a disk image?": partition tables and filesystems made by the real tools (sfdisk, sgdisk, mkfs.*,
 * genisoimage, mksquashfs, cryptsetup), found by the probe in raw, compressed, zip and tar images; a text
 * file gets diskSignature null and the warning the GUI shows.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOT_A_DISK_WARNING, probeImage } from '../../src/main/engine/probe';
import { useFreshProbeWorker } from './probe-helpers';
import { scratch } from './source-helpers';

const tmp = scratch('disk-sig');
beforeAll(async () => {
  await useFreshProbeWorker();
});
afterAll(() => tmp.cleanup());

const MiB = 1024 * 1024;

function sparse(name: string, size: number): string {
  const path = tmp.file(name);
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  closeSync(fd);
  return path;
}

function have(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore', env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } }).status === 0;
}

function sh(script: string): void {
  execFileSync('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
}

/** One real image per signature: [expected, program needed, how to make it at $F]. */
const MAKERS: [string, string, number, string][] = [
  ['mbr', 'sfdisk', 8 * MiB, `printf 'label: dos\\n,4MiB,83\\n' | sfdisk -q "$F"`],
  ['gpt', 'sgdisk', 8 * MiB, 'sgdisk -o -n 1:2048:+2M "$F"'],
  ['iso9660', 'genisoimage', 0, 'mkdir -p "$F.d" && echo hi > "$F.d/x" && genisoimage -quiet -o "$F" "$F.d"'],
  ['ext2', 'mkfs.ext2', 8 * MiB, 'mkfs.ext2 -q -F "$F"'],
  ['ext3', 'mkfs.ext3', 8 * MiB, 'mkfs.ext3 -q -F "$F"'],
  ['ext4', 'mkfs.ext4', 8 * MiB, 'mkfs.ext4 -q -F "$F"'],
  ['fat12', 'mkfs.vfat', 4 * MiB, 'mkfs.vfat -F 12 "$F"'],
  ['fat16', 'mkfs.vfat', 32 * MiB, 'mkfs.vfat -F 16 "$F"'],
  ['fat32', 'mkfs.vfat', 64 * MiB, 'mkfs.vfat -F 32 "$F"'],
  ['exfat', 'mkfs.exfat', 16 * MiB, 'mkfs.exfat "$F"'],
  ['ntfs', 'mkfs.ntfs', 16 * MiB, 'mkfs.ntfs -q -F -f "$F"'],
  ['btrfs', 'mkfs.btrfs', 128 * MiB, 'mkfs.btrfs -q "$F"'],
  ['xfs', 'mkfs.xfs', 320 * MiB, 'mkfs.xfs -q "$F"'],
  ['squashfs', 'mksquashfs', 0, 'mkdir -p "$F.d" && echo hi > "$F.d/x" && mksquashfs "$F.d" "$F" -quiet -no-progress'],
  ['f2fs', 'mkfs.f2fs', 64 * MiB, 'mkfs.f2fs -q "$F"'],
  ['luks', 'cryptsetup', 20 * MiB, 'printf key > "$F.key" && cryptsetup luksFormat -q --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$F.key" "$F"'],
];

describe('diskSignature of real images', { timeout: 120_000 }, () => {
  for (const [expected, program, size, script] of MAKERS) {
    const missing = have(program) ? null : `needs ${program}`;
    if (missing) process.stderr.write(`[skip] disk signature ${expected}: ${missing}\n`);
    it.skipIf(missing !== null)(`${expected} (made by ${program})${missing ? ` (skipped: ${missing})` : ''}`, async () => {
      const path = size > 0 ? sparse(`${expected}.img`, size) : tmp.file(`${expected}.img`);
      sh(`F='${path}'; ${script}`);
      const info = await probeImage(path, { bmapPath: null });
      expect(info.diskSignature).toBe(expected);
      expect(info.warnings).not.toContain(NOT_A_DISK_WARNING);
    });
  }

  it('found in the first decoded bytes of a compressed image (ext4 in .gz, .xz, .zst, .bz2)', async () => {
    const path = sparse('packed.img', 64 * MiB);
    sh(`mkfs.ext4 -q -F '${path}'`);
    for (const [program, ext] of [['gzip', 'gz'], ['xz', 'xz'], ['zstd', 'zst'], ['bzip2', 'bz2']] as const) {
      sh(`${program} -k -c -1 '${path}' > '${path}.${ext}'`);
      const info = await probeImage(`${path}.${ext}`, { bmapPath: null });
      expect(info.diskSignature, ext).toBe('ext4');
    }
  });

  it('found in a zip member and in a tar member (with the member named)', async () => {
    const path = sparse('member.img', 8 * MiB);
    sh(`printf 'label: dos\\n,4MiB,83\\n' | sfdisk -q '${path}'`);
    sh(`cd '${tmp.dir}' && zip -q member.zip member.img && tar -cf member.tar member.img && tar -czf member.tar.gz member.img`);
    for (const archive of ['member.zip', 'member.tar', 'member.tar.gz']) {
      const info = await probeImage(tmp.file(archive), { bmapPath: null });
      expect(info.diskSignature, archive).toBe('mbr');
      expect(info.member, archive).toBe('member.img');
      expect(info.imageSize, archive).toBe(8 * MiB);
    }
  });
});

describe('not a disk image', () => {
  it('a 5-byte text file: diskSignature null and the warning the GUI shows', async () => {
    const path = tmp.file('hello.txt');
    writeFileSync(path, 'hello');
    const info = await probeImage(path, { bmapPath: null });
    expect(info.diskSignature).toBeNull();
    expect(info.warnings).toContain('This file does not look like a disk image: no partition table or filesystem was found at its start.');
  });

  it('a boot signature alone is not an MBR (entries must be sane)', async () => {
    const path = tmp.file('fake-mbr.img');
    const bytes = Buffer.alloc(4096, 0x41);
    bytes[510] = 0x55;
    bytes[511] = 0xaa;
    writeFileSync(path, bytes);
    expect((await probeImage(path, { bmapPath: null })).diskSignature).toBeNull();
  });

  it('a file of zeros has no signature', async () => {
    const path = sparse('zeros.img', MiB);
    expect((await probeImage(path, { bmapPath: null })).diskSignature).toBeNull();
  });
});
