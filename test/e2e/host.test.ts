/**
 * The browser host as a user starts it (dist/main/host.cjs): one URL line with a token, nothing served or
 * accepted without that token or under a foreign Host / Origin, the Api over its WebSocket, and the page
 * running in real Chromium under its CSP.
 */
import { spawnSync } from 'node:child_process';
import { createServer, request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { HostMessage } from '../../src/shared/host-protocol';
import { artifactPath, buildOnce, chromiumAvailable, launchBrowser, repoRoot, startHost, type RunningHost } from '../helpers/browser';

/** Raw HTTP GET with chosen headers (fetch does not let a test forge Host). */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a WebSocket and resolves with it, or with the HTTP status the host refused it with. */
function openSocket(url: string, headers: Record<string, string> = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
}

function invoke(ws: WebSocket, id: number, method: string, args: unknown[] = []): Promise<HostMessage> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData): void => {
      const message = JSON.parse(data.toString()) as HostMessage;
      if (message.kind === 'result' && message.id === id) {
        ws.off('message', onMessage);
        resolve(message);
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ kind: 'invoke', id, method, args }));
  });
}

describe('browser host', () => {
  let host: RunningHost;
  let dir: string;

  beforeAll(async () => {
    buildOnce();
    dir = mkdtempSync(join(tmpdir(), 'sureflash-host-test-'));
    host = await startHost(['--test', '--save-dir', dir, '--user-data-dir', join(dir, 'user-data')]);
  });
  afterAll(async () => {
    await host?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints one line: a 127.0.0.1 URL with a long random token', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
  });

  it('serves nothing without the token, or with a wrong one', async () => {
    expect((await get(host.port, '/')).status).toBe(403);
    expect((await get(host.port, '/?token=nope')).status).toBe(403);
    expect((await get(host.port, `/?token=${host.token}x`)).status).toBe(403);
    const page = await get(host.port, `/?token=${host.token}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain("script-src 'self'");
    expect(String(page.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
  });

  it('lets the page load its assets with the cookie it set, and refuses them without', async () => {
    const page = await get(host.port, `/?token=${host.token}`);
    const cookie = String((page.headers['set-cookie'] as string[])[0]).split(';')[0] ?? '';
    expect(page.headers['set-cookie']).toEqual([expect.stringMatching(/HttpOnly; SameSite=Strict/)]);
    const script = /src="\.(\/assets\/[^"]+\.js)"/.exec(page.body)?.[1] ?? '';
    expect(script).not.toBe('');
    expect((await get(host.port, script)).status).toBe(403);
    const asset = await get(host.port, script, { cookie });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/^text\/javascript/);
    expect((await get(host.port, '/../../../etc/passwd', { cookie })).status).toBe(404);
  });

  it('refuses a foreign Host header even with the token (DNS rebinding)', async () => {
    const res = await get(host.port, `/?token=${host.token}`, { host: `evil.example:${host.port}` });
    expect(res.status).toBe(421);
  });

  it('refuses WebSockets without the token or from a foreign origin', async () => {
    const base = `ws://127.0.0.1:${host.port}/api`;
    expect(await openSocket(base)).toBe(403);
    expect(await openSocket(`${base}?token=wrong`)).toBe(403);
    expect(await openSocket(`${base}?token=${host.token}`, { origin: 'http://evil.example' })).toBe(403);
    expect(await openSocket(`${base}?token=${host.token}`, { host: `attacker.example:${host.port}` })).toBe(421);
  });

  it('answers Api calls over the WebSocket with Results from the real services', async () => {
    const ws = await openSocket(`ws://127.0.0.1:${host.port}/api?token=${host.token}`, { origin: host.origin });
    if (typeof ws === 'number') throw new Error(`refused with ${ws}`);
    try {
      const settings = await invoke(ws, 1, 'getSettings');
      expect(settings).toMatchObject({ kind: 'result', id: 1, result: { ok: true, value: { readback: true, retries: 3 } } });
      const bad = await invoke(ws, 2, 'setSettings', [{ retries: 11 }]);
      expect(bad).toMatchObject({ result: { ok: false, error: { code: 'USAGE' } } });
      const missing = await invoke(ws, 3, 'probeImage', [join(dir, 'missing.img')]);
      expect(missing).toMatchObject({ result: { ok: false, error: { code: 'IMAGE_NOT_FOUND' } } });
      const image = join(dir, 'tiny.img');
      writeFileSync(image, Buffer.alloc(64 * 1024, 7));
      await host.pick(image);
      const picked = await invoke(ws, 4, 'pickImage');
      expect(picked).toMatchObject({ result: { ok: true, value: { path: image, name: 'tiny.img', compression: 'none' } } });
      await host.pick(null);
      expect(await invoke(ws, 5, 'pickImage')).toMatchObject({ result: { ok: true, value: null } });
      // Without a queued answer or --pick, the host says how to choose an image.
      expect(await invoke(ws, 6, 'pickImage')).toMatchObject({ result: { ok: false, error: { code: 'USAGE', message: expect.stringMatching(/--pick/) } } });
    } finally {
      ws.close();
    }
  });

  it('refuses the test endpoint without the token', async () => {
    const res = await fetch(`${host.origin}/__test/pick`, { method: 'POST', body: '/etc/passwd' });
    expect(res.status).toBe(403);
  });

  const external = Object.values(networkInterfaces())
    .flat()
    .find((nic) => nic && nic.family === 'IPv4' && !nic.internal);
  it.skipIf(!external)('listens on 127.0.0.1 only (needs a non-loopback IPv4 address to try)', async () => {
    await expect(fetch(`http://${external?.address}:${host.port}/?token=${host.token}`)).rejects.toThrow();
  });

  it('takes --port, and explains a bad option or a busy port', async () => {
    const runHost = (args: string[]) => spawnSync(process.execPath, ['dist/main/host.cjs', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
    const help = runHost(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--allow-loop/);
    const bad = runHost(['--frobnicate']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option --frobnicate/);
    // A port that is free now, then taken by someone else.
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const busy = runHost(['--port', String(port), '--user-data-dir', join(dir, 'busy')]);
      expect(busy.status).toBe(1);
      expect(busy.stderr).toMatch(/port is already in use: choose another with --port N/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    const fixed = await startHost(['--port', String(port), '--user-data-dir', join(dir, 'fixed')]);
    try {
      expect(fixed.port).toBe(port);
    } finally {
      await fixed.stop();
    }
  });

  it('printed nothing else on stdout', () => {
    expect(host.extraStdout()).toBe('');
  });

  describe.skipIf(!chromiumAvailable())('in Chromium (needs /usr/bin/chromium)', () => {
    it('tells the user when the host goes away', async () => {
      const second = await startHost(['--user-data-dir', join(dir, 'second')]);
      const browser = await launchBrowser();
      try {
        const page = await browser.context.newPage();
        await page.goto(second.url);
        await page.getByRole('heading', { name: 'Image' }).waitFor();
        expect(await page.getByRole('alert').count()).toBe(0);
        await second.stop();
        await page.getByRole('alert').filter({ hasText: /^Lost the connection to the Sureflash host/ }).waitFor();
      } finally {
        await browser.close();
        await second.stop();
      }
    });

    it('runs the page under its CSP without errors, keyboard first, in light and dark', async () => {
      for (const colorScheme of ['light', 'dark'] as const) {
        const browser = await launchBrowser({ colorScheme });
        try {
          const page = await browser.context.newPage();
          const problems: string[] = [];
          page.on('console', (msg) => {
            if (msg.type() === 'error' || msg.type() === 'warning') problems.push(msg.text());
          });
          page.on('pageerror', (err) => problems.push(err.message));
          await page.goto(host.url);
          await page.getByRole('heading', { name: 'Image' }).waitFor();
          // Keyboard: after the header's Settings and About, the first Tab stop is "Select image", with a visible
          // focus ring that is not the colour of "retrying".
          for (let i = 0; i < 3; i += 1) await page.keyboard.press('Tab');
          const focused = page.getByRole('button', { name: 'Select image' });
          expect(await focused.evaluate((el) => el === document.activeElement)).toBe(true);
          expect(await focused.evaluate((el) => getComputedStyle(el).outlineStyle)).toBe('solid');
          const [ring, retrying] = await focused.evaluate((el) => {
            const probe = document.body.appendChild(document.createElement('span'));
            probe.className = 'paint-retrying';
            const colour = getComputedStyle(probe).backgroundColor;
            probe.remove();
            return [getComputedStyle(el).outlineColor, colour];
          });
          expect(ring).not.toBe(retrying);
          const image = join(dir, 'shown.img');
          writeFileSync(image, Buffer.alloc(128 * 1024, 1));
          await host.pick(image);
          await page.keyboard.press('Enter');
          await page.getByText('shown.img').waitFor();
          await page.getByText('No bmap', { exact: false }).or(page.getByText('no block map')).first().waitFor();
          await page.screenshot({ path: artifactPath(`setup-${colorScheme}.png`) });
          // The target dialog covers the whole page: nothing behind it (the Flash! button) paints on top.
          await page.getByRole('button', { name: 'Select target' }).click();
          await page.getByRole('dialog', { name: 'Select target' }).waitFor();
          const flash = await page.getByRole('button', { name: 'Flash!' }).boundingBox();
          const onTop = await page.evaluate(
            ([x, y]) => document.elementFromPoint(x ?? 0, y ?? 0)?.closest('.backdrop') !== null,
            [(flash?.x ?? 0) + (flash?.width ?? 0) / 2, (flash?.y ?? 0) + (flash?.height ?? 0) / 2],
          );
          expect(onTop).toBe(true);
          await page.keyboard.press('Escape');
          await page.getByRole('dialog').waitFor({ state: 'detached' });
          expect(await page.getByRole('button', { name: 'Select target' }).evaluate((el) => el === document.activeElement)).toBe(true);
          const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
          expect(background).toBe(colorScheme === 'dark' ? 'rgb(11, 15, 24)' : 'rgb(226, 232, 242)');
          expect(problems).toEqual([]);
        } finally {
          await browser.close();
        }
      }
    });
  });
});
