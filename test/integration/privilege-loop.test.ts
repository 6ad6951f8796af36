import { closeSync, constants, existsSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinDevice, type DevicePin } from '../../src/main/engine/device/device-pin';
import type { FlashJob } from '../../src/main/engine/protocol';
import { startEngineJob } from '../../src/main/engine/worker-client';
import { launchHelper, type ElevatedLauncher } from '../../src/main/privilege/run-elevated';
import { nativeIo } from '../../src/main/system/native-io';
import { bmaptoolCreate, makeSparseImage, patternBytes } from '../helpers/bmap-fixtures';
import { elevateAsChild, requireHelperBuilt, startHelper, type HelperUnderTest } from '../helpers/helper-process';
import { attachLoop, isLoopAttached, readDirect, run, type LoopDevice } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

// The privileged helper serving real loop devices, started as a plain child (no sudo here): the same command
// line sudo-prompt would run. The engine worker (dist/main/engine-worker.cjs) does all the rest: image,
// bmap, hashing, comparing. Build first: `node scripts/build.mjs`.
const MiB = 1024 * 1024;

describeRoot('the engine writing through the privileged helper (needs root: loop devices)', () => {
  let work = ''; // made in beforeAll: a suite left out by a filter leaves nothing behind
  const workPrefix = 'sureflash-helper-loop-';
  let image: string;
  let bmap: string;
  let loop: LoopDevice;
  const layout = {
    size: 48 * MiB,
    extents: [
      { offset: 0, length: 64 * 1024, seed: 11 },
      { offset: 3 * MiB + 4096, length: 40 * MiB, seed: 12 },
      { offset: 47 * MiB, length: 1000, seed: 13 },
    ],
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), workPrefix));
    requireHelperBuilt();
    image = await makeSparseImage(work, 'os.img', layout);
    bmap = join(work, 'os.bmap');
    await bmaptoolCreate(image, bmap);
    writeFileSync(join(work, 'card.bin'), Buffer.alloc(64 * MiB, 0xee));
    loop = await attachLoop(join(work, 'card.bin'));
  });
  afterAll(async () => {
    await loop?.detach();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const job = async (mode: 'copy' | 'verify' = 'copy', elevatedIo: 'descriptor' | 'served' = 'descriptor'): Promise<FlashJob> => ({
    mode,
    image,
    bmapPath: bmap,
    targets: [{ path: loop.device, elevated: await pinDevice(loop.device, mode), elevatedIo }],
    readback: true,
    verifySource: true,
    retries: 2,
    requireBlockDevice: true,
  });

  // Both ways: the helper hands the opened drive over (the default), or serves every batch.
  it.each(nativeIo() ? (['descriptor', 'served'] as const) : (['served'] as const))('flashes and verifies byte for byte, the helper doing only the block I/O (%s)', async (elevatedIo) => {
    const said: string[] = [];
    const logs: string[] = [];
    let asked = 0;
    const flash = startEngineJob(await job('copy', elevatedIo), {
      onElevate: (target, file) => {
        asked++;
        return elevateAsChild(said)(target, file);
      },
      onLog: (_level, message) => logs.push(message),
    });
    const batch = await flash.done;
    const report = batch.cards[0]!;
    expect(batch.status).toBe('verified');
    expect(asked).toBe(1);
    expect(report.readback).toBe('direct');
    expect(report.ranges.every((r) => r.state === 'verified')).toBe(true);
    const inImage = await readFile(image);
    for (const [i, extent] of layout.extents.entries()) {
      const start = Math.floor(extent.offset / 4096) * 4096;
      const length = Math.ceil((extent.offset + extent.length) / 4096) * 4096 - start;
      const onDevice = await readDirect(loop.device, start, length);
      expect(onDevice.equals(inImage.subarray(start, start + length)), `extent ${i}`).toBe(true);
      expect(onDevice.subarray(extent.offset - start, extent.offset - start + extent.length).equals(patternBytes(extent.length, extent.seed))).toBe(true);
    }
    // A hole the bmap does not map stays as it was on the card.
    expect((await readDirect(loop.device, 2 * MiB, 4096)).every((b) => b === 0xee)).toBe(true);
    // Verify through the helper too (read-only open).
    const verify = await startEngineJob(await job('verify', elevatedIo), { onElevate: elevateAsChild() }).done;
    expect(verify.status).toBe('verified');
    await new Promise((r) => setTimeout(r, 50));
    expect(said.join('')).toBe('');
    expect(logs.join('\n')).toMatch(elevatedIo === 'descriptor' ? /opened the drive and handed it over/ : /serves the drive's I\/O/);
  });

  it('cancels while the helper serves the card; the job reports cancelled', async () => {
    let flash: ReturnType<typeof startEngineJob> | null = null;
    flash = startEngineJob(await job(), { onElevate: elevateAsChild(), onStarted: () => flash?.cancel() });
    expect((await flash.done).status).toBe('cancelled');
  });

  it('a refused prompt ends the card cancelled with ELEVATION_REFUSED and writes nothing', async () => {
    const before = await readDirect(loop.device, 0, 64 * 1024);
    const prompt: ElevatedLauncher = async () => Promise.reject(new Error('User did not grant permission.'));
    const refused = startEngineJob(await job(), { onElevate: (_t, file) => launchHelper(file, { launch: prompt }) });
    const batch = await refused.done;
    expect(batch.status).toBe('cancelled');
    expect(batch.cards[0]!.status).toBe('cancelled');
    expect(batch.cards[0]!.error).toMatchObject({ code: 'ELEVATION_REFUSED', message: 'Administrator rights were not granted, so nothing was written to the drive.' });
    expect((await readDirect(loop.device, 0, 64 * 1024)).equals(before)).toBe(true);
  });
});

describeRoot('what the privileged helper refuses (needs root: loop devices)', () => {
  let work = ''; // made in beforeAll: a suite left out by a filter leaves nothing behind
  const workPrefix = 'sureflash-helper-refuses-';
  let loop: LoopDevice;
  let other: LoopDevice;
  let pin: DevicePin;
  const helpers: HelperUnderTest[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), workPrefix));
    requireHelperBuilt();
    writeFileSync(join(work, 'a.bin'), Buffer.alloc(8 * MiB, 0xaa));
    writeFileSync(join(work, 'b.bin'), Buffer.alloc(8 * MiB, 0xbb));
    loop = await attachLoop(join(work, 'a.bin'));
    other = await attachLoop(join(work, 'b.bin'));
    pin = await pinDevice(loop.device, 'copy');
  });
  afterAll(async () => {
    for (const h of helpers) {
      h.child.kill();
      await h.rendezvous.close();
    }
    await loop?.detach();
    await other?.detach();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Starts a helper, lets it authenticate, sends `open` for `request` and returns its answer and exit. */
  async function ask(request: object) {
    const helper = await startHelper();
    helpers.push(helper);
    const link = await helper.socket();
    const auth = (await link.control()) as { type: string; token: string };
    expect(auth).toEqual({ type: 'auth', token: helper.rendezvous.token });
    link.send({ type: 'open', pin: request });
    return { answer: (await link.control()) as { type: string; code?: string; message?: string } | null, exit: helper.exited, link, helper };
  }

  it('an unlisted drive: a pin for one loop device, the path of another', async () => {
    const { answer, exit } = await ask({ ...pin, path: other.device });
    expect(answer).toMatchObject({ type: 'refused', code: 'TARGET_CHANGED', message: expect.stringMatching(/is not the drive that was listed and confirmed \(its device number is \d+, not \d+\)/) });
    const { code, stderr } = await exit;
    expect(code).toBe(1);
    expect(stderr).toMatch(/refused: .*not the drive that was listed/);
  });

  it('a mounted drive', async () => {
    const fsImage = join(work, 'fs.img');
    writeFileSync(fsImage, Buffer.alloc(16 * MiB));
    expect((await run('mkfs.ext4', ['-q', '-F', fsImage])).code).toBe(0);
    const fsLoop = await attachLoop(fsImage);
    const mountpoint = mkdtempSync(join(tmpdir(), 'sureflash-helper-mnt-'));
    try {
      const mountedPin = await pinDevice(fsLoop.device, 'copy');
      expect((await run('mount', [fsLoop.device, mountpoint])).code).toBe(0);
      const { answer, exit } = await ask(mountedPin);
      expect(answer).toMatchObject({ type: 'refused', code: 'TARGET_MOUNTED', message: expect.stringContaining(mountpoint) });
      expect((await exit).code).toBe(1);
    } finally {
      await run('umount', [mountpoint]);
      await fsLoop.detach();
      rmSync(mountpoint, { recursive: true, force: true });
    }
  });

  it('a different device at the same path: the loop number re-attached to another backing file', async () => {
    writeFileSync(join(work, 'c.bin'), Buffer.alloc(8 * MiB, 0xcc));
    writeFileSync(join(work, 'd.bin'), Buffer.alloc(8 * MiB, 0xdd));
    const swapped = await attachLoop(join(work, 'c.bin'));
    const device = swapped.device;
    try {
      const before = await pinDevice(device, 'copy');
      await swapped.detach();
      const again = await run('losetup', [device, join(work, 'd.bin')]);
      expect(again.code, again.stderr).toBe(0);
      const { answer, exit } = await ask(before);
      // Same path, device number and size: the disk sequence number (or the backing file) tells them apart.
      expect(answer).toMatchObject({ type: 'refused', code: 'TARGET_CHANGED', message: expect.stringMatching(/not the drive that was listed and confirmed \(its (disk sequence number|backing file)/) });
      expect((await exit).code).toBe(1);
      expect((await readDirect(device, 0, 4096)).every((b) => b === 0xdd)).toBe(true);
    } finally {
      if (isLoopAttached(device)) await run('losetup', ['--detach', device]);
    }
  });

  it('a path that is not a block device: a character device, and a regular file', async () => {
    const chr = await ask({ ...pin, path: '/dev/null' });
    expect(chr.answer).toMatchObject({ type: 'refused', code: 'TARGET_INVALID', message: '/dev/null is not a block device; the helper serves drives only' });
    const file = '/dev/shm/sureflash-helper-not-a-device.bin';
    writeFileSync(file, Buffer.alloc(8 * MiB));
    try {
      const regular = await ask({ ...pin, path: file });
      expect(regular.answer).toMatchObject({ type: 'refused', code: 'TARGET_INVALID', message: expect.stringMatching(/is not a block device/) });
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('an open request that does not fit the schema', async () => {
    const { answer, exit } = await ask({ ...pin, path: '/etc/passwd' });
    expect(answer).toBeNull();
    expect((await exit).stderr).toMatch(/malformed open request \(a device path under \/dev\)/);
  });

  it('an oversized message before the device is open, without reading it', async () => {
    const helper = await startHelper();
    helpers.push(helper);
    const link = await helper.socket();
    await link.control();
    const header = Buffer.alloc(12);
    header.writeUInt32LE(1, 0);
    header.writeUInt32LE(1024 * 1024, 4);
    link.socket.write(header);
    const { code, stderr } = await helper.exited;
    expect(code).toBe(1);
    expect(stderr).toMatch(/a message of 1048576 bytes is too long \(at most 4096 here\)/);
  });

  it('offsets outside the device, before any op of the batch runs', async () => {
    const { answer, link } = await ask(pin);
    expect(answer).toMatchObject({ type: 'opened', info: { direct: true, size: 8 * MiB } });
    const inside = { op: 'write' as const, offset: 0, length: 4096 };
    const past = await link.batch([inside, { op: 'write', offset: 8 * MiB - 4096, length: 8192 }], [Buffer.alloc(4096, 1), Buffer.alloc(8192, 2)]);
    expect(past?.result).toEqual({ reads: [], error: { index: 0, code: 'EBOUNDS', message: expect.stringMatching(/op 1 \(write of 8192 bytes at 8384512\) lies outside the device \(8388608 bytes\); nothing of this batch ran/) } });
    const far = await link.batch([{ op: 'read', offset: 2 ** 40, length: 4096 }], [], 2);
    expect(far?.result.error).toMatchObject({ code: 'EBOUNDS' });
    expect((await readDirect(loop.device, 0, 4096)).every((b) => b === 0xaa)).toBe(true);
    // Inside the device it serves: a write, a flush and a read back.
    const ok = await link.batch([inside, { op: 'flush' }, { op: 'read', offset: 0, length: 4096 }], [Buffer.alloc(4096, 7)], 3);
    expect(ok?.result).toEqual({ reads: [4096], error: null });
    expect(ok?.data.every((b) => b === 7)).toBe(true);
    link.send({ type: 'close' });
    expect(await link.control()).toEqual({ type: 'closed' });
  });
});

describeRoot('the privileged helper lets go (needs root: loop devices)', () => {
  let work = ''; // made in beforeAll: a suite left out by a filter leaves nothing behind
  const workPrefix = 'sureflash-helper-letgo-';
  let loop: LoopDevice;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), workPrefix));
    requireHelperBuilt();
    writeFileSync(join(work, 'e.bin'), Buffer.alloc(8 * MiB));
    loop = await attachLoop(join(work, 'e.bin'));
  });
  afterAll(async () => {
    await loop?.detach();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds the drive exclusively while it serves it, and closes it and exits when the engine goes away', async () => {
    const helper = await startHelper();
    const link = await helper.socket();
    await link.control();
    link.send({ type: 'open', pin: await pinDevice(loop.device, 'copy') });
    expect(await link.control()).toMatchObject({ type: 'opened' });
    const exclusive = () => closeSync(openSync(loop.device, constants.O_RDWR | constants.O_EXCL));
    expect(exclusive).toThrow(/EBUSY/);
    link.socket.destroy();
    expect((await helper.exited).code).toBe(0);
    expect(exclusive).not.toThrow();
    await helper.rendezvous.close();
  });
});

describe('the rendezvous the helper trusts', () => {
  const spoilt = async (prepare: Parameters<typeof startHelper>[0]) => {
    const helper = await startHelper(prepare);
    const exit = await helper.exited;
    const fileLeft = existsSync(helper.rendezvous.file);
    await helper.rendezvous.close();
    return { ...exit, fileLeft };
  };

  it('refuses a directory that is not 0700, and leaves the file in place', async () => {
    const { code, stderr, fileLeft } = await spoilt({ prepare: async (r) => void (await run('chmod', ['0755', join(r.file, '..')])) });
    expect(code).toBe(1);
    expect(stderr).toMatch(/the rendezvous directory .* has mode 0755, not 0700; refusing/);
    expect(fileLeft).toBe(true);
  });

  it('refuses a file that is not 0600, or that belongs to another user', async () => {
    const loose = await spoilt({ prepare: async (r) => void (await run('chmod', ['0644', r.file])) });
    expect(loose.stderr).toMatch(/the rendezvous file .* has mode 0644, not 0600; refusing/);
    if (process.getuid?.() !== 0) return; // chown needs root
    const foreign = await spoilt({ prepare: async (r) => void (await run('chown', ['65534', r.file])) });
    expect(foreign.stderr).toMatch(/the rendezvous file .* belongs to uid 65534, not to the user who asked \(uid 0\); refusing/);
  });

  it('refuses a rendezvous of another user than the one who ran sudo or pkexec', async () => {
    const other = await spoilt({ uid: 0, env: { SUDO_UID: '1000' } });
    expect(other.stderr).toMatch(/started by uid 1000 \(SUDO_UID\) for a rendezvous of uid 0; refusing/);
    if (process.getuid?.() !== 0) return;
    const dirOwner = await spoilt({ uid: 65534 });
    expect(dirOwner.stderr).toMatch(/the rendezvous directory .* belongs to uid 0, not to the user who asked \(uid 65534\); refusing/);
  });

  it('refuses a transfer buffer that is not 0600, not a regular file, or not of the agreed size', async () => {
    const loose = await spoilt({ prepare: async (r) => void (await run('chmod', ['0644', r.bufferPath])) });
    expect(loose.stderr).toMatch(/the rendezvous transfer buffer .* has mode 0644, not 0600; refusing/);
    const link = await spoilt({
      prepare: async (r) => {
        rmSync(r.bufferPath);
        symlinkSync('/etc/passwd', r.bufferPath);
      },
    });
    expect(link.stderr).toMatch(/the transfer buffer .* is not a regular file; refusing/);
    const short = await spoilt({ prepare: async (r) => void (await run('truncate', ['-s', '4096', r.bufferPath])) });
    expect(short.stderr).toMatch(/is not a single file of 67108864 bytes; refusing/);
  });

  it('refuses a socket that is not 0600, and a relative path', async () => {
    const socket = await spoilt({ prepare: async (r) => void (await run('chmod', ['0666', join(r.file, '..', 'helper.sock')])) });
    expect(socket.stderr).toMatch(/the rendezvous socket .* has mode 0666, not 0600; refusing/);
    const relative = await spoilt({ file: 'rendezvous.json' });
    expect(relative.stderr).toMatch(/must be an absolute path/);
  });
});
