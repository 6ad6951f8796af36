/**
 * `sureflash station` end to end: the built CLI on loop devices (--allow-loop) and the FUSE card fixture.
 * Every device of these tests sits on a fixed loop number (70-79) and the station is restricted to those
 * slots (--slot), so it can never take a loop device another test attaches meanwhile; the "present at
 * arming" rule is still tested, on a device inside the allowed slots.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryExport } from '../../src/shared/history-types';
import { bmaptoolAvailable, bmaptoolCreate, makeSparseImage } from '../helpers/bmap-fixtures';
import { startCard, type Card } from '../helpers/card';
import { cliBuilt, describeRun, runCli, type CliResult } from '../helpers/cli';
import { isLoopAttached, run } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

const MiB = 1024 * 1024;
/** The loop numbers this file uses; the station serves only these slots. */
const FIRST = 70;
const LAST = 79;
const slotOf = (n: number): string => `/devices/virtual/block/loop${n}`;
const slotArgs = (): string[] => Array.from({ length: LAST - FIRST + 1 }, (_, i) => ['--slot', slotOf(FIRST + i)]).flat();

const attachedHere = new Set<string>();
/** Attaches `file` at /dev/loopN. */
async function attachAt(n: number, file: string): Promise<string> {
  const device = `/dev/loop${n}`;
  if (isLoopAttached(device)) throw new Error(`${device} is already attached: detach it (losetup -d ${device}) and run again`);
  const result = await run('losetup', [device, file]);
  if (result.code !== 0) throw new Error(`losetup ${device} ${file}: ${result.stderr}`);
  attachedHere.add(device);
  return device;
}
async function detach(device: string): Promise<void> {
  for (let i = 0; i < 50 && isLoopAttached(device); i += 1) {
    await run('losetup', ['-d', device]);
    if (isLoopAttached(device)) await new Promise((r) => setTimeout(r, 100));
  }
  attachedHere.delete(device);
}

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** A running station: its output so far, waits on it, signals, and its result. */
interface Station {
  child: () => ChildProcess;
  out: () => string;
  waitFor(pattern: RegExp, what: string, ms?: number): Promise<RegExpMatchArray>;
  result: Promise<CliResult>;
}

function startStation(args: string[]): Station {
  let child: ChildProcess | null = null;
  let out = '';
  const result = runCli(['station', '--allow-loop', ...slotArgs(), ...args], {
    timeoutMs: 180_000,
    onSpawn: (c) => {
      child = c;
      c.stdout?.on('data', (chunk: Buffer | string) => {
        out += chunk.toString();
      });
    },
  });
  let ended = false;
  void result.then(() => (ended = true));
  return {
    child: () => child as unknown as ChildProcess,
    out: () => out,
    result,
    async waitFor(pattern, what, ms = 90_000) {
      for (let waited = 0; ; waited += 50) {
        const match = pattern.exec(out);
        if (match) return match;
        if (ended) throw new Error(`the station ended before ${what}:\n${describeRun(await result)}\nstdout:\n${out}`);
        if (waited > ms) throw new Error(`no ${what} after ${ms} ms; stdout:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

const logLines = (file: string): Record<string, unknown>[] =>
  existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];

describeRoot(
  'sureflash station (built CLI, loop devices and the FUSE card)',
  () => {
    let dir = '';
    let image = '';
    let imageBytes = Buffer.alloc(0);
    let bmapArgs: string[] = [];
    const cards: Card[] = [];

    beforeAll(async () => {
      if (!cliBuilt()) throw new Error('the CLI is not built: run `node scripts/build.mjs` first');
      for (let n = FIRST; n <= LAST; n += 1) {
        if (isLoopAttached(`/dev/loop${n}`)) throw new Error(`/dev/loop${n} is attached already: this suite needs loop${FIRST}-loop${LAST} free`);
      }
      dir = await fsp.mkdtemp(join(tmpdir(), 'sureflash-station-'));
      // 24 MiB with 10 MiB mapped in two ranges (the rest holes).
      image = await makeSparseImage(dir, 'os.img', { size: 24 * MiB, extents: [{ offset: 0, length: 8 * MiB, seed: 3 }, { offset: 16 * MiB, length: 2 * MiB, seed: 4 }] });
      imageBytes = await fsp.readFile(image);
      if (bmaptoolAvailable()) {
        await bmaptoolCreate(image, `${image}.bmap`);
        bmapArgs = ['--bmap', `${image}.bmap`];
      } else bmapArgs = ['--nobmap'];
    });

    afterEach(async () => {
      for (const device of [...attachedHere]) await detach(device);
      for (const card of cards.splice(0)) await card.stop();
    });

    afterAll(async () => {
      if (dir) await fsp.rm(dir, { recursive: true, force: true });
    });

    /** A plain 64 MiB "card" file with `fill` in its first bytes. */
    const cardFile = async (name: string, fill?: Buffer): Promise<string> => {
      const path = join(dir, name);
      await fsp.writeFile(path, fill ?? Buffer.alloc(0));
      await fsp.truncate(path, 64 * MiB);
      return path;
    };

    it('never touches a loop device present at arming; flashes, verifies and logs two attached afterwards; the session exports', async () => {
      const before = Buffer.from(Array.from({ length: 4 * MiB }, (_, i) => (i * 7 + 1) & 0xff));
      const present = await attachAt(70, await cardFile('present.bin', before));
      const presentSha = sha(await fsp.readFile(join(dir, 'present.bin')));
      const log = join(dir, 'two.jsonl');
      const history = join(dir, 'two.sqlite');
      const station = startStation([...bmapArgs, '--log', log, '--history-db', history, '--name', 'bench-1', image]);
      await station.waitFor(/waiting for cards/, 'the armed station');
      expect(station.out()).toMatch(new RegExp(`Never touched[^]*${present}\\b`));
      const first = await attachAt(71, await cardFile('c1.bin'));
      const second = await attachAt(72, await cardFile('c2.bin'));
      await station.waitFor(/card \d \/dev\/loop71: VERIFIED/, 'loop71 verified');
      await station.waitFor(/card \d \/dev\/loop72: VERIFIED/, 'loop72 verified');
      station.child().kill('SIGINT');
      const result = await station.result;
      expect(result.code, describeRun(result)).toBe(0);
      expect(station.out()).toMatch(/Station stopped: 2 cards taken: 2 verified\./);
      expect(station.out()).toMatch(/Health: 2 keep, 0 watch, 0 retire\./);
      expect(station.out()).not.toMatch(/card \d+ taken: \/dev\/loop70\b/);

      // The device present at arming: every byte as it was.
      expect(sha(await fsp.readFile(join(dir, 'present.bin')))).toBe(presentSha);
      // The two cards hold the image.
      for (const name of ['c1.bin', 'c2.bin']) {
        const held = (await fsp.readFile(join(dir, name))).subarray(0, imageBytes.length);
        expect(sha(held), name).toBe(sha(imageBytes));
      }
      const lines = logLines(log);
      expect(lines).toHaveLength(2);
      expect(lines.map((l) => l.device).sort()).toEqual([first, second]);
      const sessionId = lines[0]!.sessionId as string;
      for (const line of lines) {
        expect(line).toMatchObject({
          format: 'sureflash-station-log', status: 'verified', station: 'bench-1', sessionId, badBlocks: 0,
          image: { path: image, name: 'os.img', size: 24 * MiB }, probe: { ok: true }, health: { verdict: 'keep' },
        });
        expect(line.slot).toBe(slotOf(Number((line.device as string).slice(9))));
        expect(line.identity).toMatchObject({ bus: 'loop', sizeBytes: 64 * MiB, idSource: 'fingerprint', cardId: expect.stringMatching(/^fp-67108864-/) });
        expect(typeof line.historyId).toBe('number');
      }

      // Batch export of the session: CSV (header + one row per card) and JSON.
      const csv = await runCli(['history', '--db', history, '--session', sessionId, '--csv']);
      expect(csv.code, describeRun(csv)).toBe(0);
      const rows = csv.stdout.trim().split('\r\n');
      expect(rows).toHaveLength(3);
      expect(rows[0]).toMatch(/^flash_id,session_id,station,slot,device,card_id/);
      for (const row of rows.slice(1)) expect(row).toMatch(new RegExp(`^\\d+,${sessionId},bench-1,/devices/virtual/block/loop7[12],/dev/loop7[12],fp-`));
      const json = await runCli(['history', '--db', history, '--session', sessionId, '--json']);
      const exported = JSON.parse(json.stdout) as HistoryExport;
      expect(exported.filter).toEqual({ sessionId });
      expect(exported.flashes.map((f) => f.outcome.status)).toEqual(['verified', 'verified']);
      expect(exported.flashes.every((f) => f.health?.verdict === 'keep' && f.station === 'bench-1')).toBe(true);
    }, 240_000);

    it('a worn card with a dead block fails and is retired; a card pulled mid-flash is lost and the station goes on', async () => {
      const log = join(dir, 'worn.jsonl');
      const station = startStation([...bmapArgs, '--checksum-retry', '2', '--log', log, '--history-db', join(dir, 'worn.sqlite'), image]);
      await station.waitFor(/waiting for cards/, 'the armed station');

      // A card whose block 100 (inside the first mapped range) never holds what is written.
      const worn = await startCard({ size: 32 * MiB, faults: [{ block: 100, count: -1 }], loop: false });
      cards.push(worn);
      await attachAt(73, worn.file);
      const failed = await station.waitFor(/card (\d) \/dev\/loop73: FAILED[^\n]*/, 'the worn card failed');
      expect(failed[0]).toMatch(/health RETIRE/);

      // A slow card, pulled (its FUSE daemon killed) while it is being written.
      const slow = await startCard({ size: 32 * MiB, bus: { writeMBps: 2 }, loop: false });
      cards.push(slow);
      await attachAt(74, slow.file);
      await station.waitFor(/card \d \/dev\/loop74: writing/, 'the slow card being written');
      await slow.kill();
      await station.waitFor(/card \d \/dev\/loop74: LOST/, 'the pulled card lost');

      // The station goes on: a card inserted afterwards is flashed.
      await attachAt(75, await cardFile('after.bin'));
      await station.waitFor(/card \d \/dev\/loop75: VERIFIED/, 'the later card verified');
      station.child().kill('SIGINT');
      const result = await station.result;
      expect(result.code, describeRun(result)).toBe(1);
      expect(station.out()).toMatch(/Station stopped: 3 cards taken: 1 verified, 1 failed, 1 lost\./);
      expect(station.out()).toMatch(/Health: \d keep, 0 watch, 1 retire\./);

      const byDevice = new Map(logLines(log).map((l) => [l.device as string, l]));
      expect(byDevice.size).toBe(3);
      expect(byDevice.get('/dev/loop73')).toMatchObject({ status: 'failed', health: { verdict: 'retire', reasons: expect.arrayContaining([expect.objectContaining({ code: 'BAD_BLOCKS' })]) } });
      expect((byDevice.get('/dev/loop73')!.badBlocks as number) > 0).toBe(true);
      expect(byDevice.get('/dev/loop73')!.retries).toBe(2);
      expect(byDevice.get('/dev/loop74')).toMatchObject({ status: 'lost', error: { code: 'DEVICE_LOST' } });
      expect(byDevice.get('/dev/loop75')).toMatchObject({ status: 'verified' });
    }, 240_000);

    it('Ctrl-C lets the running card finish and exits 0 with the summary; a second Ctrl-C cancels it and exits 1', async () => {
      for (const [n, twice] of [[76, false], [77, true]] as const) {
        const slow = await startCard({ size: 32 * MiB, bus: { writeMBps: 2 }, loop: false });
        cards.push(slow);
        const station = startStation([...bmapArgs, '--no-history', image]);
        await station.waitFor(/waiting for cards/, 'the armed station');
        await attachAt(n, slow.file);
        await station.waitFor(new RegExp(`card 1 /dev/loop${n}: writing`), 'the card being written');
        station.child().kill('SIGINT');
        await station.waitFor(/stopping: no new cards; 1 running card will finish/, 'the stop');
        if (twice) {
          station.child().kill('SIGINT');
          await station.waitFor(/cancelling the 1 running card/, 'the cancel');
        }
        const result = await station.result;
        if (twice) {
          expect(result.code, describeRun(result)).toBe(1);
          expect(station.out()).toMatch(/card 1 \/dev\/loop77: CANCELLED/);
          expect(station.out()).toMatch(/Station stopped: 1 card taken: 0 verified, 1 cancelled\./);
        } else {
          expect(result.code, describeRun(result)).toBe(0);
          expect(station.out()).toMatch(/card 1 \/dev\/loop76: VERIFIED/);
          expect(station.out()).toMatch(/Station stopped: 1 card taken: 1 verified\./);
        }
        await detach(`/dev/loop${n}`);
      }
    }, 240_000);

    it('three flashes of the same card (sureflash copy) show up in sureflash history with the trend; an unwritable history changes no verdict', async () => {
      const history = join(dir, 'three.sqlite');
      const device = await attachAt(78, await cardFile('same.bin'));
      for (let i = 0; i < 3; i += 1) {
        const copy = await runCli(['copy', ...bmapArgs, '--history-db', history, image, device]);
        expect(copy.code, describeRun(copy)).toBe(0);
        expect(copy.stderr).toMatch(/history: \/dev\/loop78: recorded as card fp-67108864-[0-9a-f]{16} /);
      }
      const list = await runCli(['history', '--db', history], { env: { TZ: 'UTC' } });
      expect(list.code, describeRun(list)).toBe(0);
      const row = list.stdout.split('\n').find((l) => l.startsWith('fp-67108864-'));
      expect(row, list.stdout).toMatch(/loop, 67\.1 MB\s+3\s+.*verified\s+KEEP\s+retries stable, speed \w+/);
      const cardId = row!.split(/\s+/)[0]!;
      const one = await runCli(['history', '--db', history, '--card', cardId]);
      expect(one.stdout).toMatch(/3 flashes, 0 retries, 0 bad blocks in all; health KEEP/);
      expect(one.stdout).toMatch(/Trend: retries stable .*last 3 flashes/);
      // copy --no-history records nothing more.
      const quiet = await runCli(['copy', ...bmapArgs, '--no-history', image, device]);
      expect(quiet.code).toBe(0);
      const json = JSON.parse((await runCli(['history', '--db', history, '--json'])).stdout) as HistoryExport;
      expect(json.flashes).toHaveLength(3);
      // A history that cannot be written is a warning: the copy still verifies and exits 0.
      await fsp.writeFile(join(dir, 'not-a-folder'), 'x');
      const unwritable = await runCli(['copy', ...bmapArgs, '--history-db', join(dir, 'not-a-folder', 'h.sqlite'), image, device]);
      expect(unwritable.code, describeRun(unwritable)).toBe(0);
      expect(unwritable.report?.status).toBe('verified');
      expect(unwritable.stderr).toMatch(/sureflash: warning: \/dev\/loop78: the history could not be read: .*not-a-folder/);
    }, 240_000);
  },
  { loop: true, fuse: true },
);

describe.skipIf(!cliBuilt())('sureflash station refuses to arm', () => {
  it('on a missing image or a damaged bmap: exit 1, nothing armed; a usage error exits 2', async () => {
    const dir = await fsp.mkdtemp(join(tmpdir(), 'sureflash-station-refuse-'));
    try {
      const missing = await runCli(['station', '--no-history', join(dir, 'nope.img')]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/nope\.img does not exist[^]*not armed: nothing was written/);
      const img = join(dir, 'os.img');
      await fsp.writeFile(img, Buffer.alloc(MiB, 1));
      await fsp.writeFile(`${img}.bmap`, '<?xml version="1.0"?><bmap version="2.0"><ImageSize>nonsense</ImageSize></bmap>');
      const bad = await runCli(['station', '--no-history', '--bmap', `${img}.bmap`, img]);
      expect(bad.code).toBe(1);
      expect(bad.stdout).not.toMatch(/armed on/);
      expect(bad.stderr).toMatch(/not armed: nothing was written/);
      const usage = await runCli(['station', '--max-cards', '0', img]);
      expect(usage.code).toBe(2);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
