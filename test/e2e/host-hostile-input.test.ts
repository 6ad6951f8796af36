/**
 * The browser host owns running jobs, so no input on any channel may end it. While a real flash is held
 * mid-write (a worn card behind a loop device, its FUSE daemon stopped), raw TCP sockets send every kind
 * of bad WebSocket frame, bad HTTP request, bad message and bad call; each is refused on its own socket,
 * the host stays up, and the flash then ends Verified with the card holding the image. A page that drops
 * its socket mid-flash has its job cancelled, and the report is written to the host's --save-dir.
 * Root only (loop devices, FUSE).
 */
import { promises as fsp } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { FlashRequest } from '../../src/shared/api';
import type { FlashReport } from '../../src/shared/report';
import { bmaptoolCreate, makeSparseImage } from '../helpers/bmap-fixtures';
import { buildOnce, startHost, type RunningHost } from '../helpers/browser';
import { connectHostApi, type HostApiClient } from '../helpers/host-api';
import { closeCodeFor, frame, rawConnect, rawRequest, upgradeRequest } from '../helpers/raw-socket';
import { describeRoot } from '../helpers/root';
import { startWornCard, type WornCard } from '../helpers/worn-card';
import { bmapRanges, expectMappedBlocksEqual, MiB } from './ui-harness';

const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;
const PING = 0x9;
const CONTINUATION = 0x0;

/** Every bad frame, with the close code RFC 6455 asks for. */
const BAD_FRAMES: [string, Buffer, number][] = [
  ['an unmasked frame', frame({ opcode: TEXT, payload: 'hi', mask: false }), 1002],
  ['reserved bit RSV1 without an extension', frame({ opcode: TEXT, payload: 'hi', rsv: 0b100 }), 1002],
  ['reserved bits RSV2 and RSV3', frame({ opcode: TEXT, payload: 'hi', rsv: 0b011 }), 1002],
  ['a reserved data opcode (0x3)', frame({ opcode: 0x3, payload: 'hi' }), 1002],
  ['a reserved control opcode (0xB)', frame({ opcode: 0xb }), 1002],
  ['an oversized frame (announces 1 GiB)', frame({ opcode: TEXT, payload: 'x', announcedLength: 1024 * MiB }), 1009],
  ['a frame just over the 64 KiB limit', frame({ opcode: TEXT, payload: Buffer.alloc(64 * 1024 + 1, 0x61) }), 1009],
  ['invalid UTF-8 in a text frame', frame({ opcode: TEXT, payload: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }), 1007],
  ['a fragmented control frame', frame({ opcode: PING, fin: false }), 1002],
  ['a control frame over 125 bytes', frame({ opcode: PING, payload: Buffer.alloc(200) }), 1002],
  ['a continuation with nothing to continue', frame({ opcode: CONTINUATION, payload: 'x' }), 1002],
  ['a close frame with a reserved code (1005)', frame({ opcode: CLOSE, payload: Buffer.from([0x03, 0xed]) }), 1002],
  ['a close frame with a one-byte payload', frame({ opcode: CLOSE, payload: Buffer.from([0x03]) }), 1002],
  ['a binary message', frame({ opcode: BINARY, payload: Buffer.from([1, 2, 3]) }), 1003],
  ['text that is not JSON', frame({ opcode: TEXT, payload: '{"kind":' }), 1008],
  ['JSON that is not a request', frame({ opcode: TEXT, payload: '{"kind":"invoke","id":"1","method":"flash","args":{}}' }), 1008],
  [
    'a message whose detail would overflow a close frame',
    frame({ opcode: TEXT, payload: JSON.stringify({ kind: 'listen', event: 'drives', on: true, ['é'.repeat(200)]: 1 }) }),
    1008,
  ],
  ['a request with too many arguments', frame({ opcode: TEXT, payload: JSON.stringify({ kind: 'invoke', id: 1, method: 'flash', args: Array(17).fill(0) }) }), 1008],
];

describeRoot(
  'the browser host under hostile input while it flashes',
  () => {
    let host: RunningHost;
    let dir: string;
    const cleanups: (() => Promise<void>)[] = [];

    beforeAll(async () => {
      buildOnce();
      dir = mkdtempSync(join(tmpdir(), 'sureflash-hostile-'));
      host = await startHost(['--allow-loop', '--test', '--save-dir', join(dir, 'reports'), '--user-data-dir', join(dir, 'user-data')]);
    });
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    });
    afterAll(async () => {
      await host?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /**
     * Resolves when the host process dies or prints an uncaught error. With the card stopped, a dying host
     * cannot even exit (its I/O threads wait on the card), so its sockets never close: watch for this instead.
     */
    const crashed = (): Promise<string> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (/Unhandled 'error' event|^\s+at .*\(node:/m.test(host.stderr())) resolve(`the host crashed:\n${host.stderr()}`);
        };
        host.process.stderr?.on('data', check);
        host.process.once('exit', (code, signal) => resolve(`the host exited (${code ?? signal}):\n${host.stderr()}`));
        check();
      });
    /** `promise`, unless the host crashes first (then the test fails with its stderr). */
    async function unlessCrashed<T>(what: string, promise: Promise<T>): Promise<T> {
      const crash = crashed().then((why) => Promise.reject(new Error(`${what}: ${why}`)));
      return Promise.race([promise, crash]);
    }

    /** A flash of a 160 MiB image started, confirmed, and held mid-write with the card's daemon stopped. */
    async function heldFlash(name: string, on: RunningHost = host): Promise<{ client: HostApiClient; jobId: string; card: WornCard; image: string; thaw(): void }> {
      const size = 160 * MiB;
      const image = await makeSparseImage(dir, `${name}.img`, { size, extents: [{ offset: 0, length: size }] });
      const bmap = await bmaptoolCreate(image, join(dir, `${name}.bmap`));
      await fsp.writeFile(join(dir, `${name}.ranges.json`), JSON.stringify(bmapRanges(bmap)));
      const card = await startWornCard({ size: 192 * MiB, maxWrite: 4096 });
      let frozen = false;
      const thaw = (): void => {
        if (frozen) process.kill(card.pid, 'SIGCONT');
        frozen = false;
      };
      cleanups.push(async () => {
        thaw();
        await card.stop();
      });
      const client = await connectHostApi(on);
      cleanups.push(() => client.close());
      client.listen('flash');
      client.listen('confirm');
      const request: FlashRequest = { imagePath: image, devices: [card.loop], readback: true, retries: 1, acknowledged: [] };
      const started = client.call<{ jobId: string }>('flash', request);
      const question = await client.answerNext(true);
      expect(question).toMatchObject({ title: 'Erase drive?', message: expect.stringContaining(card.loop), confirmLabel: 'Erase and flash', danger: true });
      const result = await started;
      if (!result.ok) throw new Error(`flash refused: ${result.error.message}`);
      let written = 0;
      while (written < 16 * MiB) {
        written = (await card.stats()).bytesWritten;
        if (written >= size) throw new Error('the whole image was written before the test could hold the flash');
      }
      process.kill(card.pid, 'SIGSTOP');
      frozen = true;
      return { client, jobId: result.value.jobId, card, image, thaw };
    }

    it('stays up through every bad frame, HTTP request, message and call, and the flash ends Verified', async () => {
      const { client, jobId, card, image, thaw } = await heldFlash('hostile');
      try {
        for (const [what, bytes, code] of BAD_FRAMES) {
          expect(await unlessCrashed(what, closeCodeFor(host.port, host.token, bytes)), what).toBe(code);
        }
        // Half a frame, then a reset; a handshake reset before the host could answer it.
        const half = await rawConnect(host.port);
        half.socket.write(upgradeRequest(host.port, host.token));
        await half.until((b) => b.includes('\r\n\r\n'));
        half.socket.write(frame({ opcode: TEXT, payload: 'x'.repeat(1000) }).subarray(0, 300));
        half.socket.resetAndDestroy();
        for (const request of [upgradeRequest(host.port, host.token), upgradeRequest(host.port, 'wrong')]) {
          const reset = await rawConnect(host.port);
          reset.socket.write(request);
          reset.socket.resetAndDestroy();
        }

        const http: [string, string, number][] = [
          ['a request line that is not HTTP', 'HELLO THERE\r\n\r\n', 400],
          ['a header line without a colon', `GET / HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\nno colon here\r\n\r\n`, 400],
          ['32 KiB of headers', `GET / HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\nX-Big: ${'a'.repeat(32 * 1024)}\r\n\r\n`, 431],
          ['an upgrade without Sec-WebSocket-Key', upgradeRequest(host.port, host.token, { 'Sec-WebSocket-Key': null }), 400],
          ['an upgrade with an unknown WebSocket version', upgradeRequest(host.port, host.token, { 'Sec-WebSocket-Version': '99' }), 400],
          ['an upgrade with a wrong token', upgradeRequest(host.port, 'wrong'), 403],
          ['an upgrade to another path', upgradeRequest(host.port, host.token).replace('GET /api ', 'GET /other '), 404],
          ['an upgrade from a foreign origin', upgradeRequest(host.port, host.token, { Origin: 'http://evil.example' }), 403],
          ['a POST to the page', `POST / HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\nContent-Length: 5\r\n\r\nhello`, 405],
          ['the test endpoint without the token', `POST /__test/pick HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\nContent-Length: 11\r\n\r\n/etc/passwd`, 403],
          [
            'the test endpoint with a 64 KiB body',
            `POST /__test/pick HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\nAuthorization: Bearer ${host.token}\r\nContent-Length: 65536\r\n\r\n${'a'.repeat(65536)}`,
            413,
          ],
        ];
        for (const [what, request, status] of http) {
          const { status: got, connection } = await unlessCrashed(what, rawRequest(host.port, request));
          connection.socket.destroy();
          expect(got, what).toBe(status);
        }
        // A request cut off in its headers.
        const cut = await rawConnect(host.port);
        cut.socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\nX-Half`);
        cut.socket.resetAndDestroy();

        // Bad calls on a good socket: refused with USAGE before any service runs.
        const caller = await connectHostApi(host);
        cleanups.push(() => caller.close());
        const calls: [string, unknown[]][] = [
          ['deleteEverything', []],
          ['__proto__', []],
          ['probeImage', [42]],
          ['flash', [{ imagePath: image, device: card.loop, readback: 'yes', retries: 1, acknowledged: [] }]],
          ['setSettings', [{ retries: 'many' }]],
          ['cancel', [{ id: jobId }]],
          ['answerConfirm', [jobId, true]],
          ['getSettings', [1, 2, 3]],
        ];
        for (const [method, args] of calls) {
          expect(await unlessCrashed(method, caller.call(method, ...args)), method).toMatchObject({ ok: false, error: { code: 'USAGE' } });
        }
        expect(host.process.exitCode).toBeNull();
        expect(client.seen('flash').some((e) => e.type === 'done' || e.type === 'error')).toBe(false);
      } finally {
        thaw();
      }
      const end = await client.jobEnd(jobId);
      expect(end.type === 'done' && end.report.status, JSON.stringify(end)).toBe('verified');
      const ranges = JSON.parse(await fsp.readFile(join(dir, 'hostile.ranges.json'), 'utf8')) as { first: number; last: number }[];
      await expectMappedBlocksEqual(image, ranges, (offset, length) => card.storedBytes(offset, length));
      expect(host.process.exitCode).toBeNull();
      expect(host.stderr()).not.toMatch(/Unhandled|uncaught/i);
    });

    it('cancels the job of a page that drops its socket mid-flash, and writes its report to --save-dir', async () => {
      const { client, jobId, thaw } = await heldFlash('orphan');
      const watcher = await connectHostApi(host);
      cleanups.push(() => watcher.close());
      watcher.listen('flash');
      try {
        client.ws.terminate();
        await client.closed;
      } finally {
        thaw();
      }
      const reportPath = join(dir, 'reports', `sureflash-report-${jobId}.json`);
      const line = new RegExp(`job ${jobId} ended \\(cancelled\\) after its page went away: report written to ${reportPath.replace(/[.]/g, '\\.')}`);
      while (!line.test(host.stderr())) await new Promise((resolve) => setTimeout(resolve, 100));
      const report = JSON.parse(await fsp.readFile(reportPath, 'utf8')) as FlashReport;
      expect(report.status).toBe('cancelled');
      expect(host.stderr()).toMatch(new RegExp(`page \\d+ went away during job ${jobId}: cancelling it`));
      // Another page never saw that job's events: they go to the page that started it.
      expect(watcher.seen('flash').filter((e) => e.jobId === jobId)).toEqual([]);
    });

    it('on SIGTERM mid-flash, cancels the flash, writes its report, and only then exits (0)', async () => {
      const second = await startHost(['--allow-loop', '--save-dir', join(dir, 'stopped'), '--user-data-dir', join(dir, 'user-data-2')]);
      cleanups.push(() => second.stop());
      const { client, jobId, thaw } = await heldFlash('stopped', second);
      const exited = new Promise<number | null>((resolve) => second.process.once('exit', (code) => resolve(code)));
      try {
        second.process.kill('SIGTERM');
        // The host closes every page first; the flash is still held on the stopped card.
        await client.closed;
      } finally {
        thaw();
      }
      expect(await exited).toBe(0);
      expect(second.stderr()).toMatch(/stopping: cancelling 1 running flash/);
      const report = JSON.parse(await fsp.readFile(join(dir, 'stopped', `sureflash-report-${jobId}.json`), 'utf8')) as FlashReport;
      expect(report.status).toBe('cancelled');
    });
  },
  { loop: true, fuse: true },
);
