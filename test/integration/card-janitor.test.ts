/**
 * The card fixture cleans up after a test process that dies without stop(), even one killed while a read
 * of its loop device is blocked on a stalled card. Such a process cannot finish dying (its reading thread
 * sits in D state) and so cannot close the pipe its janitor waits on: the fixture sees its parent become a
 * zombie and resumes, the read completes, the process ends, and the janitor kills the daemon, detaches the
 * loop device, unmounts and removes the files.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isMounted } from '../helpers/card';
import { isLoopAttached } from '../helpers/loop';
import { describeRoot } from '../helpers/root';

const childSource = fileURLToPath(new URL('../helpers/card-orphan-child.ts', import.meta.url));
const cardHelper = fileURLToPath(new URL('../helpers/card.ts', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  for (let waited = 0; !check(); waited += 50) {
    if (waited >= ms) throw new Error(`${what} did not happen within ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describeRoot('card fixture: cleanup after the test process dies', () => {
  let work = '';
  beforeAll(async () => {
    work = await fsp.mkdtemp(join(tmpdir(), 'sureflash-card-janitor-'));
  });
  afterAll(async () => {
    if (work) await fsp.rm(work, { recursive: true, force: true });
  });

  it('SIGKILL while a read is blocked on a stalled card: the process ends, and nothing of the card is left', async () => {
    const bundle = join(work, 'orphan-child.mjs');
    // The bundle lives elsewhere: card.ts finds the fixture script relative to its own source.
    await build({ entryPoints: [childSource], bundle: true, platform: 'node', format: 'esm', outfile: bundle,
      define: { 'import.meta.url': JSON.stringify(pathToFileURL(cardHelper).href) }, logLevel: 'silent' });
    const child = spawn(process.execPath, [bundle], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.on('close', (code) => reject(new Error(`child exited (${code}) before holding the card:\n${stderr}`)));
    });
    const held = JSON.parse(line) as { loop: string; mountpoint: string; dir: string; pid: number };
    expect(isLoopAttached(held.loop)).toBe(true);

    child.kill('SIGKILL');
    await closed;
    await until(() => !alive(held.pid), 'the card daemon to be killed');
    await until(() => !isLoopAttached(held.loop), 'the loop device to be detached');
    await until(() => !isMounted(held.mountpoint) && !existsSync(held.dir), 'the card to be unmounted and removed');
  });
}, { fuse: true });
