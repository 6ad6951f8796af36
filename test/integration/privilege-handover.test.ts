/**
 * The descriptor hand-over: the privileged helper opens the pinned drive and hands its descriptor to the engine
 * over the rendezvous' handover socket (SCM_RIGHTS, through the native module), then ends; the engine takes it
 * only when root sent it with the token and it is the pinned block device, open O_DIRECT with the access the job
 * needs. Real loop devices, the real helper bundle as a plain child, and a stand-in helper that hands over what
 * the real one never would. Build first: `node scripts/build.mjs`.
 */
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinDevice, type DevicePin } from '../../src/main/engine/device/device-pin';
import { controlFrame, rendezvousFileSchema } from '../../src/main/engine/device/device-wire';
import { descriptorMismatch } from '../../src/main/engine/device/remote-target';
import type { FlashJob } from '../../src/main/engine/protocol';
import { startEngineJob } from '../../src/main/engine/worker-client';
import { nativeIo, nativeIoMissing, type NativeIo } from '../../src/main/system/native-io';
import { bmaptoolCreate, makeSparseImage } from '../helpers/bmap-fixtures';
import { elevateAsChild, requireHelperBuilt, startHelper } from '../helpers/helper-process';
import { attachLoop, readDirect, run, type LoopDevice } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

const MiB = 1024 * 1024;
const io = nativeIo();
if (!io) process.stderr.write(`[skip] privilege-handover: the native module is not available (${nativeIoMissing()})\n`);
const describeHandover = io ? describeRoot : describe.skip;

/** A descriptor as the engine would receive it: sent through a real Unix socket, with real flags and credentials. */
function handedOver(native: NativeIo, dir: string, fd: number, token: string): ReturnType<NativeIo['acceptFd']> {
  const path = join(dir, `t${Math.random().toString(16).slice(2)}.sock`);
  const listening = native.listenUnix(path);
  try {
    native.sendFd(path, fd, Buffer.from(token));
    return native.acceptFd(listening, 2000);
  } finally {
    native.closeFd(listening);
    rmSync(path, { force: true });
  }
}

describeHandover('the descriptor hand-over (needs root: loop devices; the native module)', () => {
  const native = io as NativeIo;
  let work = '';
  let loop: LoopDevice;
  let other: LoopDevice;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'sureflash-handover-'));
    requireHelperBuilt();
    writeFileSync(join(work, 'a.bin'), Buffer.alloc(8 * MiB, 0x5a));
    writeFileSync(join(work, 'b.bin'), Buffer.alloc(8 * MiB));
    loop = await attachLoop(join(work, 'a.bin'));
    other = await attachLoop(join(work, 'b.bin'));
  });
  afterAll(async () => {
    await loop?.detach();
    await other?.detach();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it.each(['copy', 'verify'] as const)('the helper hands over the pinned drive opened O_DIRECT for %s, keeps no copy of it, and ends when the engine goes', async (mode) => {
    const helper = await startHelper();
    const link = await helper.socket();
    const auth = (await link.control()) as { token: string };
    const pin = await pinDevice(loop.device, mode);
    link.send({ type: 'open', pin, handover: true });
    expect(await link.control()).toMatchObject({ type: 'opened', handedOver: true });
    const got = native.acceptFd((helper.rendezvous.handover as { fd: number }).fd, 2000);
    // It waits for the job's next drive; the engine going away ends it.
    link.socket.destroy();
    expect((await helper.exited).code).toBe(0);
    expect(descriptorMismatch(got, auth.token, pin)).toBeNull();
    expect(got.uid).toBe(0);
    expect(got.flags & 3).toBe(mode === 'copy' ? constants.O_RDWR : constants.O_RDONLY);
    // The helper is gone; the drive is still held exclusively (O_EXCL) through the descriptor the engine holds.
    const exclusive = () => closeSync(openSync(loop.device, constants.O_RDWR | constants.O_EXCL));
    expect(exclusive).toThrow(/EBUSY/);
    native.closeFd(got.fd);
    expect(exclusive).not.toThrow();
    await helper.rendezvous.close();
  });

  it('the engine refuses a descriptor from anyone but root with the token, or not the pinned drive opened O_DIRECT for writing', async () => {
    const token = 'a'.repeat(64);
    const pin = await pinDevice(loop.device, 'copy');
    const take = (path: string, flags: number, as = token) => {
      const fd = openSync(path, flags);
      try {
        return handedOver(native, work, fd, as);
      } finally {
        closeSync(fd);
      }
    };
    const cases: [ReturnType<NativeIo['acceptFd']>, RegExp][] = [
      [take(loop.device, constants.O_RDWR), /not open for direct I\/O/],
      [take(loop.device, constants.O_RDONLY | constants.O_DIRECT), /open for reading, not for reading and writing/],
      [take(other.device, constants.O_RDWR | constants.O_DIRECT), new RegExp(`device number is \\d+, not ${pin.rdev}`)],
      [take(join(work, 'a.bin'), constants.O_RDWR | constants.O_DIRECT), /not a block device/],
      [take(loop.device, constants.O_RDWR | constants.O_DIRECT, 'b'.repeat(64)), /without the token/],
    ];
    for (const [got, why] of cases) {
      expect(descriptorMismatch(got, token, pin)).toMatch(why);
      native.closeFd(got.fd);
    }
    const right = take(loop.device, constants.O_RDWR | constants.O_DIRECT);
    expect(descriptorMismatch(right, token, pin)).toBeNull();
    expect(descriptorMismatch({ ...right, uid: 1000 }, token, pin)).toMatch(/sent by uid 1000, not by root/);
    native.closeFd(right.fd);
  });

  it('a helper that hands over a descriptor without O_DIRECT: the engine refuses it and writes nothing', async () => {
    const image = await makeSparseImage(work, 'os.img', { size: 4 * MiB, extents: [{ offset: 0, length: 2 * MiB, seed: 5 }] });
    await bmaptoolCreate(image, `${image}.bmap`);
    const before = await readDirect(loop.device, 0, 2 * MiB);
    const pin: DevicePin = await pinDevice(loop.device, 'copy');
    // A stand-in helper: proves the token, then hands over the right drive opened through the page cache.
    const standIn = (file: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const rendezvous = rendezvousFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
        const socket = connect(rendezvous.socketPath, () => socket.write(controlFrame({ type: 'auth', token: rendezvous.token })));
        socket.once('data', () => {
          const fd = openSync(loop.device, constants.O_RDWR);
          native.sendFd(rendezvous.handoverPath as string, fd, Buffer.from(rendezvous.token));
          closeSync(fd);
          socket.end(controlFrame({ type: 'opened', info: { direct: true, sectorSize: 512, size: pin.size }, handedOver: true }));
        });
        socket.on('close', () => resolve());
        socket.on('error', reject);
      });
    const job: FlashJob = {
      mode: 'copy',
      image,
      bmapPath: `${image}.bmap`,
      targets: [{ path: loop.device, elevated: pin }],
      readback: true,
      verifySource: true,
      retries: 1,
      requireBlockDevice: true,
    };
    const batch = await startEngineJob(job, { onElevate: (_t, file) => standIn(file) }).done;
    expect(batch.status).not.toBe('verified');
    expect(batch.cards[0]!.error?.message).toMatch(/handed over for .* was refused: it is not open for direct I\/O.*nothing was written/);
    expect((await readDirect(loop.device, 0, 2 * MiB)).equals(before)).toBe(true);
  });

  describe('one job, two drives the app cannot write', () => {
    let image = '';
    const twoCards = async (elevatedIo: 'descriptor' | 'served', pins?: DevicePin[]) => {
      if (!image) {
        image = await makeSparseImage(work, 'two.img', { size: 6 * MiB, extents: [{ offset: 0, length: MiB, seed: 71 }, { offset: 4 * MiB, length: MiB, seed: 72 }] });
        await bmaptoolCreate(image, `${image}.bmap`);
      }
      const [pa, pb] = pins ?? [await pinDevice(loop.device, 'copy'), await pinDevice(other.device, 'copy')];
      const job: FlashJob = {
        mode: 'copy',
        image,
        bmapPath: `${image}.bmap`,
        targets: [
          { path: loop.device, elevated: pa as DevicePin, elevatedIo },
          { path: other.device, elevated: pb as DevicePin, elevatedIo },
        ],
        readback: true,
        verifySource: true,
        retries: 1,
        requireBlockDevice: true,
      };
      const prompts: number[] = [];
      const said: string[] = [];
      const batch = await startEngineJob(job, {
        onElevate: (target, file) => {
          prompts.push(target);
          return elevateAsChild(said)(target, file);
        },
      }).done;
      return { batch, prompts, said };
    };

    it('handed over: one helper, one password prompt, opens both; both verified, the image on each', async () => {
      const { batch, prompts, said } = await twoCards('descriptor');
      expect(batch.cards.map((c) => c.status)).toEqual(['verified', 'verified']);
      expect(prompts).toEqual([0]);
      const wanted = readFileSync(image);
      for (const device of [loop.device, other.device]) {
        for (const start of [0, 4 * MiB]) expect((await readDirect(device, start, MiB)).equals(wanted.subarray(start, start + MiB)), `${device} at ${start}`).toBe(true);
      }
      expect(said.join('')).toBe('');
    });

    it('served: a helper, and a prompt, per drive', async () => {
      const { batch, prompts } = await twoCards('served');
      expect(batch.cards.map((c) => c.status)).toEqual(['verified', 'verified']);
      expect(prompts).toEqual([0, 1]);
    });

    it("the shared helper still refuses a drive that is no longer the pinned one; that card alone fails, nothing written to it", async () => {
      const pa = await pinDevice(loop.device, 'copy');
      const pb = await pinDevice(other.device, 'copy');
      // The second drive's loop number now leads to another backing file of the same size.
      const swappedFile = join(work, 'swapped.bin');
      writeFileSync(swappedFile, Buffer.alloc(8 * MiB, 0x33));
      const detached = await run('losetup', ['--detach', other.device]);
      expect(detached.code, detached.stderr).toBe(0);
      const again = await run('losetup', [other.device, swappedFile]);
      expect(again.code, again.stderr).toBe(0);
      const { batch, prompts } = await twoCards('descriptor', [pa, pb]);
      expect(prompts).toEqual([0]);
      expect(batch.cards[0]!.status).toBe('verified');
      expect(batch.cards[1]!.error).toMatchObject({ code: 'TARGET_CHANGED', message: expect.stringMatching(/not the drive that was listed and confirmed/) });
      expect((await readDirect(other.device, 0, 4096)).every((b) => b === 0x33)).toBe(true);
    });
  });

  it('the helper refuses a handover socket that is not 0600, before anything', async () => {
    const helper = await startHelper({ prepare: async (r) => void (await run('chmod', ['0666', (r.handover as { path: string }).path])) });
    const exit = await helper.exited;
    await helper.rendezvous.close();
    expect(exit.code).toBe(1);
    expect(exit.stderr).toMatch(/the rendezvous handover socket .* has mode 0666, not 0600; refusing/);
  });
});
