/**
 * Images that are not plain files: a FIFO with no writer, a character device and a socket are refused by
 * name without blocking; a block device (a card copied to a card) is read; and a file whose reads come back
 * short (a FUSE mount that returns at most 1000 bytes per read) is read whole by readAt.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openSource } from '../../src/main/engine/source';
import { attachLoop, run as runAsync } from '../helpers/loop';
import { describeRoot, fusePython } from '../helpers/root';
import { isMounted } from '../helpers/worn-card';
import { drain, run, scratch } from './source-helpers';

const tmp = scratch('special');
afterAll(() => tmp.cleanup());

async function openError(path: string): Promise<Error & { code?: string }> {
  return openSource(path, { decoder: 'auto' }).then(
    async (source) => {
      await source.close();
      throw new Error(`${path} was opened`);
    },
    (err: unknown) => err as Error & { code?: string },
  );
}

describe('images that are not regular files', () => {
  it('a FIFO nothing writes into is refused at once, by name', async () => {
    const fifo = tmp.file('no-writer.img');
    run('mkfifo', [fifo]);
    const err = await openError(fifo);
    expect(err.code).toBe('IMAGE_UNREADABLE');
    expect(err.message).toContain(`${fifo} is a FIFO (named pipe) and nothing writes into it`);
  });

  it('a character device (/dev/zero never ends) is refused by name', async () => {
    const err = await openError('/dev/zero');
    expect(err.code).toBe('IMAGE_UNREADABLE');
    expect(err.message).toContain('/dev/zero is a character device, not an image file');
  });

  it('a socket is refused by name', async () => {
    const path = tmp.file('image.sock');
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const err = await openError(path);
      expect(err.code).toBe('IMAGE_UNREADABLE');
      expect(err.message).toContain(`${path} is a socket, not an image file`);
    } finally {
      server.close();
    }
  });

  it('a directory is refused by name', async () => {
    const dir = tmp.file('img.d');
    mkdirSync(dir);
    const err = await openError(dir);
    expect(err.code).toBe('IMAGE_UNREADABLE');
    expect(err.message).toContain('is a directory');
  });
});

describeRoot('a block device as the image (a card copied to a card)', () => {
  it('is read whole, by positioned reads and as a stream', async () => {
    const backing = tmp.file('card-source.bin');
    const data = randomBytes(2 * 1024 * 1024);
    writeFileSync(backing, data);
    const loop = await attachLoop(backing);
    try {
      const source = await openSource(loop.device, { decoder: 'auto' });
      try {
        expect(source.compression).toBe('none');
        const buf = Buffer.alloc(65536);
        expect(await source.readAt!(buf, 1024 * 1024)).toBe(65536);
        expect(buf.equals(data.subarray(1024 * 1024, 1024 * 1024 + 65536))).toBe(true);
        expect((await drain(source)).data.equals(data)).toBe(true);
      } finally {
        await source.close();
      }
    } finally {
      await loop.detach();
    }
  });
});

const shortReadsScript = fileURLToPath(new URL('../fixtures/short-reads/short_reads.py', import.meta.url));

describeRoot(
  'short reads (a FUSE file that returns at most 1000 bytes per read)',
  () => {
    it('readAt reads on until the buffer is full, and only the end of the file stops it short', async () => {
      const backing = tmp.file('short-backing.img');
      const data = randomBytes(3 * 1024 * 1024 + 123);
      writeFileSync(backing, data);
      const mount = tmp.file('short-mnt');
      mkdirSync(mount);
      const daemon: ChildProcess = spawn(fusePython, [shortReadsScript, '--backing', backing, '--mount', mount, '--max-read', '1000'], { stdio: 'ignore' });
      try {
        for (let i = 0; !isMounted(mount); i++) {
          if (i > 600 || daemon.exitCode !== null) throw new Error('the short-reads fixture did not mount');
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        const image = join(mount, 'image.img');
        const source = await openSource(image, { decoder: 'auto' });
        try {
          const buf = Buffer.alloc(1024 * 1024, 0xee);
          expect(await source.readAt!(buf, 4096)).toBe(buf.length);
          expect(buf.equals(data.subarray(4096, 4096 + buf.length))).toBe(true);
          // The last 123 bytes: a short read at the end of the file, and nothing after it is left stale.
          const tail = Buffer.alloc(1024, 0xee);
          expect(await source.readAt!(tail, 3 * 1024 * 1024)).toBe(123);
          expect(tail.subarray(0, 123).equals(data.subarray(3 * 1024 * 1024))).toBe(true);
        } finally {
          await source.close();
        }
        const stats = JSON.parse(readFileSync(join(mount, '.stats'), 'utf8')) as { shortReads: number };
        // The fixture really answered short, in the middle of the file.
        expect(stats.shortReads).toBeGreaterThan(1000);
      } finally {
        await runAsync('umount', [mount]);
        daemon.kill('SIGKILL');
      }
    });
  },
  { loop: false, fuse: true },
);
