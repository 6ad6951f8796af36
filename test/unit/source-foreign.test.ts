/**
 * Formats Sureflash does not read are refused by content, before anything is written, with what they are
 * and how to convert them: files made by the real tools (lzop, lz4, 7z, compress, xz --format=lzma, cpio,
 * qemu-img, img2simg, zstd --train), by hand only where no tool is installable (rar, dmg), also inside a
 * compressed file and inside zip and tar archives. A disk image is never taken for one of them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { openSource } from '../../src/main/engine/source';
import { scratch } from './source-helpers';

const tmp = scratch('foreign');
afterAll(() => tmp.cleanup());

const PATH = `${process.env.PATH}:/usr/sbin:/sbin`;
const have = (program: string): boolean => spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore', env: { ...process.env, PATH } }).status === 0;
const sh = (script: string): void => {
  execFileSync('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PATH }, cwd: tmp.dir });
};

/** 1 MiB of an ext4 filesystem: what a real image starts like. */
const raw = tmp.file('disk.img');
{
  const fd = openSync(raw, 'w');
  ftruncateSync(fd, 8 * 1024 * 1024);
  closeSync(fd);
  sh(`mkfs.ext4 -q -F '${raw}'`);
  writeFileSync(tmp.file('data.bin'), randomBytes(300_000));
}

async function refusal(path: string): Promise<Error & { code?: string }> {
  return openSource(path, { decoder: 'auto' }).then(
    async (s) => {
      await s.close();
      throw new Error(`${path} was opened as ${s.compression}`);
    },
    (e: unknown) => e as Error & { code?: string },
  );
}

/** [file, program, how to make it from disk.img (cwd is the scratch dir), words the refusal must hold]. */
const CASES: [string, string, string, RegExp][] = [
  ['disk.img.lzo', 'lzop', 'lzop -q -c disk.img > disk.img.lzo', /is lzop-compressed \(\.lzo\).*lzop -d/],
  ['disk.img.lz4', 'lz4', 'lz4 -q -c disk.img > disk.img.lz4', /is lz4-compressed.*lz4 -d/],
  ['disk.img.lz4-legacy', 'lz4', 'lz4 -q -l -c disk.img > disk.img.lz4-legacy', /is lz4-compressed \(legacy format\)/],
  ['disk.7z', '7z', '7z a -bd -bso0 disk.7z disk.img', /is a 7-Zip archive.*7z x/],
  ['disk.img.Z', 'compress', 'compress -c disk.img > disk.img.Z', /compressed with Unix compress \(\.Z\).*gzip -dk/],
  ['disk.img.lzma', 'xz', 'xz --format=lzma -c disk.img > disk.img.lzma', /is lzma-compressed \(\.lzma.*unlzma/],
  ['disk.cpio', 'cpio', 'echo disk.img | cpio -o -H newc --quiet > disk.cpio', /is a cpio archive.*cpio -idv/],
  ['disk-odc.cpio', 'cpio', 'echo disk.img | cpio -o -H odc --quiet > disk-odc.cpio', /is a cpio archive/],
  ['disk-bin.cpio', 'cpio', 'echo disk.img | cpio -o -H bin --quiet > disk-bin.cpio', /is a cpio archive/],
  ['disk.qcow2', 'qemu-img', 'qemu-img convert -O qcow2 disk.img disk.qcow2', /is a QEMU disk image \(qcow\/qcow2\).*qemu-img convert -O raw/],
  ['disk.vmdk', 'qemu-img', 'qemu-img convert -O vmdk disk.img disk.vmdk', /is a VMware disk image \(VMDK\)/],
  ['disk.vdi', 'qemu-img', 'qemu-img convert -O vdi disk.img disk.vdi', /is a VirtualBox disk image \(VDI\)/],
  ['disk.vhd', 'qemu-img', 'qemu-img convert -O vpc disk.img disk.vhd', /is a dynamic Virtual PC \/ Hyper-V disk image \(VHD\)/],
  ['disk.vhdx', 'qemu-img', 'qemu-img convert -O vhdx disk.img disk.vhdx', /is a Hyper-V disk image \(VHDX\)/],
  ['disk.simg', 'img2simg', 'img2simg disk.img disk.simg', /is an Android sparse image.*simg2img/],
  ['disk.dict', 'zstd', 'mkdir -p samples && for i in $(seq 1 64); do head -c 2000 data.bin | tail -c $((i * 20)) > samples/$i; done && zstd -q --train samples/* -o disk.dict --maxdict=4096', /is a zstd dictionary, not an image/],
];

describe('refused by content, with what it is and how to convert it', () => {
  for (const [file, program, script, words] of CASES) {
    const missing = have(program) ? null : `needs ${program}`;
    if (missing) process.stderr.write(`[skip] foreign format ${file}: ${missing}\n`);
    it.skipIf(missing !== null)(`${file} (made by ${program})${missing ? ` (skipped: ${missing})` : ''}`, async () => {
      sh(script);
      const err = await refusal(tmp.file(file));
      expect(err.code).toBe('IMAGE_UNREADABLE');
      expect(err.message).toContain(tmp.file(file));
      expect(err.message).toMatch(words);
    });
  }

  it('a RAR archive (signature written by hand: no rar program is packaged here)', async () => {
    const path = tmp.file('disk.rar');
    writeFileSync(path, Buffer.concat([Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1'), randomBytes(4096)]));
    expect((await refusal(path)).message).toMatch(/is a RAR archive.*unrar x/);
  });

  it('an Apple disk image (koly trailer written by hand: hdiutil is macOS only)', async () => {
    const path = tmp.file('disk.dmg');
    const trailer = Buffer.alloc(512);
    trailer.write('koly', 0, 'latin1');
    writeFileSync(path, Buffer.concat([randomBytes(100_000), trailer]));
    expect((await refusal(path)).message).toMatch(/is an Apple disk image \(\.dmg\).*dmg2img/);
  });

  it('a zstd file that needs a dictionary is refused naming the dictionary id', async () => {
    sh('mkdir -p samples && for i in $(seq 1 64); do head -c 2000 data.bin | tail -c $((i * 20)) > samples/$i; done && zstd -q -f --train samples/* -o d.dict --maxdict=4096 && zstd -q -f -D d.dict -c disk.img > disk-dict.img.zst');
    const err = await refusal(tmp.file('disk-dict.img.zst'));
    expect(err.code).toBe('IMAGE_UNREADABLE');
    expect(err.message).toMatch(/was compressed with a zstd dictionary \(id \d+\).*zstd -d -D/);
  });
});

describe('inside a compressed file or an archive', () => {
  it.skipIf(!have('qemu-img'))('a .qcow2.xz: what the compression holds is named', async () => {
    sh('qemu-img convert -O qcow2 disk.img inner.qcow2 && xz -k -c inner.qcow2 > inner.qcow2.xz');
    const err = await refusal(tmp.file('inner.qcow2.xz'));
    expect(err.message).toMatch(/inner\.qcow2\.xz is xz-compressed and holds a QEMU disk image .*decompress it, then convert it to a raw image first: qemu-img convert/);
  });

  it.skipIf(!have('lz4'))('an .lz4 file inside a zip and inside a tar', async () => {
    sh('lz4 -q -f -c disk.img > inner.img.lz4 && zip -q inner-lz4.zip inner.img.lz4 && tar -cf inner-lz4.tar inner.img.lz4');
    expect((await refusal(tmp.file('inner-lz4.zip'))).message).toMatch(/inner\.img\.lz4 inside the zip is lz4-compressed/);
    expect((await refusal(tmp.file('inner-lz4.tar'))).message).toMatch(/inner\.img\.lz4 inside the tar archive is lz4-compressed/);
  });
});

describe('disk images are not taken for foreign formats', () => {
  it('an ext4 image, raw and gzip-compressed, opens as an image', async () => {
    sh('gzip -k -f -c disk.img > disk.img.gz');
    for (const path of [raw, tmp.file('disk.img.gz')]) {
      const source = await openSource(path, { decoder: 'auto' });
      expect(source.head?.length).toBeGreaterThan(4096);
      await source.close();
    }
  });

  it('an MBR image whose first byte happens to be 0x5d (the usual lzma properties byte) is an image', async () => {
    const path = tmp.file('mbr-5d.img');
    const fd = openSync(path, 'w');
    ftruncateSync(fd, 8 * 1024 * 1024);
    closeSync(fd);
    sh(`printf 'label: dos\\n,4MiB,83\\n' | sfdisk -q '${path}'`);
    const bytes = readFileSync(path);
    bytes.set([0x5d, 0x00, 0x00, 0x80, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
    writeFileSync(path, bytes);
    const source = await openSource(path, { decoder: 'auto' });
    expect(source.compression).toBe('none');
    await source.close();
  });
});
