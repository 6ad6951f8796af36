/**
 * The browser host as a user starts it (dist/main/host.cjs): one URL line with a token, the page served to
 * our own Host only, the Api WebSocket only with the token (as a handshake subprotocol) and from our own
 * Origin, the Api validated message by message, and the page running in real Chromium under its CSP with
 * the token taken out of its address.
 */
import { spawnSync } from 'node:child_process';
import { createServer, request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, META_CONTENT_SECURITY_POLICY } from '../../src/shared/content-security-policy';
import { HOST_WS_PROTOCOL } from '../../src/shared/host-protocol';
import { artifactPath, buildOnce, chromiumAvailable, launchBrowser, repoRoot, startHost, type RunningHost } from '../helpers/browser';
import { connectHostApi } from '../helpers/host-api';

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

/** The HTTP status a refused WebSocket handshake got (throws if it was accepted). */
async function refusedWith(promise: Promise<unknown>): Promise<number> {
  try {
    const client = (await promise) as { close(): Promise<void> };
    await client.close();
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
  throw new Error('the handshake was accepted');
}

describe('browser host', () => {
  let host: RunningHost;
  let dir: string;

  beforeAll(async () => {
    buildOnce();
    dir = mkdtempSync(join(tmpdir(), 'sureflash-host-test-'));
    host = await startHost(['--allow-loop', '--test', '--save-dir', dir, '--user-data-dir', join(dir, 'user-data')]);
  });
  afterAll(async () => {
    await host?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints one line: a 127.0.0.1 URL with a long random token', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
  });

  it('serves the page (public code, no cookie) to our own Host only, under the one CSP', async () => {
    for (const path of ['/', `/?token=${host.token}`, '/?token=wrong']) {
      const page = await get(host.port, path);
      expect(page.status).toBe(200);
      expect(page.headers['set-cookie']).toBeUndefined();
      expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(page.body).toContain(`content="${META_CONTENT_SECURITY_POLICY}"`);
    }
    const page = await get(host.port, '/');
    const script = /src="\.(\/assets\/[^"]+\.js)"/.exec(page.body)?.[1] ?? '';
    expect(script).not.toBe('');
    const asset = await get(host.port, script);
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/^text\/javascript/);
    expect((await get(host.port, '/../../../etc/passwd')).status).toBe(404);
    expect((await get(host.port, '/%2e%2e/%2e%2e/etc/passwd')).status).toBe(404);
  });

  it('refuses a foreign Host header (DNS rebinding) for the page and for the Api', async () => {
    expect((await get(host.port, '/', { host: `evil.example:${host.port}` })).status).toBe(421);
    expect((await get(host.port, `/?token=${host.token}`, { host: `evil.example:${host.port}` })).status).toBe(421);
  });

  it('opens the Api WebSocket only with the token in the handshake, from our own origin', async () => {
    expect(await refusedWith(connectHostApi(host, { protocols: [HOST_WS_PROTOCOL] }))).toBe(403);
    expect(await refusedWith(connectHostApi(host, { protocols: [HOST_WS_PROTOCOL, 'sureflash.token.wrong'] }))).toBe(403);
    expect(await refusedWith(connectHostApi(host, { protocols: [HOST_WS_PROTOCOL, 'sureflash.token.'] }))).toBe(403);
    // Without our own protocol, or with two tokens, the token is not taken.
    expect(await refusedWith(connectHostApi(host, { protocols: [`sureflash.token.${host.token}`] }))).toBe(403);
    expect(await refusedWith(connectHostApi(host, { protocols: [HOST_WS_PROTOCOL, `sureflash.token.${host.token}`, 'sureflash.token.x'] }))).toBe(403);
    expect(await refusedWith(connectHostApi(host, { origin: 'http://evil.example' }))).toBe(403);
    // The old way (token in the query) no longer opens anything.
    const query = await new Promise<number>((resolve) => {
      const req = request({ host: '127.0.0.1', port: host.port, path: `/api?token=${host.token}`, headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('upgrade', () => resolve(101));
      req.on('error', () => resolve(-1));
      req.end();
    });
    expect(query).toBe(403);
    const client = await connectHostApi(host);
    try {
      // Only our protocol is selected: the token is never echoed back.
      expect(client.ws.protocol).toBe(HOST_WS_PROTOCOL);
    } finally {
      await client.close();
    }
  });

  it('answers Api calls over the WebSocket with Results from the real services', async () => {
    const client = await connectHostApi(host);
    try {
      expect(await client.call('getSettings')).toMatchObject({ ok: true, value: { readback: true, retries: 3 } });
      expect(await client.call('setSettings', { retries: 11 })).toMatchObject({ ok: false, error: { code: 'USAGE' } });
      expect(await client.call('probeImage', join(dir, 'missing.img'))).toMatchObject({ ok: false, error: { code: 'IMAGE_NOT_FOUND' } });
      const image = join(dir, 'tiny.img');
      writeFileSync(image, Buffer.alloc(64 * 1024, 7));
      await host.pick(image);
      expect(await client.call('pickImage')).toMatchObject({ ok: true, value: { path: image, name: 'tiny.img', compression: 'none' } });
      await host.pick(null);
      expect(await client.call('pickImage')).toMatchObject({ ok: true, value: null });
      // Without a queued answer or --pick, the host says how to choose an image.
      expect(await client.call('pickImage')).toMatchObject({ ok: false, error: { code: 'USAGE', message: expect.stringMatching(/--pick/) } });
    } finally {
      await client.close();
    }
  });

  it('answers an unknown method, wrong argument types and counts with USAGE, and the socket stays usable', async () => {
    const client = await connectHostApi(host);
    try {
      expect(await client.call('deleteEverything')).toMatchObject({ ok: false, error: { code: 'USAGE', message: 'Unknown method "deleteEverything".' } });
      expect(await client.call('toString')).toMatchObject({ ok: false, error: { code: 'USAGE' } });
      expect(await client.call('probeImage', 42)).toMatchObject({ ok: false, error: { code: 'USAGE', message: expect.stringMatching(/^Invalid path/) } });
      expect(await client.call('flash', 'everything')).toMatchObject({ ok: false, error: { code: 'USAGE', message: expect.stringMatching(/^Invalid request/) } });
      expect(await client.call('cancel', { id: 1 })).toMatchObject({ ok: false, error: { code: 'USAGE' } });
      expect(await client.call('answerConfirm', 'q', 'yes')).toMatchObject({ ok: false, error: { code: 'USAGE', message: expect.stringMatching(/^Invalid accepted/) } });
      expect(await client.call('getSettings', 'extra')).toMatchObject({ ok: false, error: { code: 'USAGE', message: expect.stringMatching(/takes no arguments, got 1/) } });
      expect(await client.call('probeImage')).toMatchObject({ ok: false, error: { code: 'USAGE', message: expect.stringMatching(/takes 1 argument \(path\), got 0/) } });
      expect(await client.call('answerConfirm', 'no-such-question', true)).toMatchObject({ ok: false, error: { code: 'USAGE', message: expect.stringMatching(/^No question with this id is waiting/) } });
      expect(await client.call('getSettings')).toMatchObject({ ok: true });
    } finally {
      await client.close();
    }
  });

  it('closes a socket that sends something that is not a request, and keeps serving the others', async () => {
    const bystander = await connectHostApi(host);
    try {
      for (const [text, code] of [
        ['not json', 1008],
        ['{"kind":"invoke","id":1,"method":"getSettings"}', 1008],
        ['{"kind":"listen","event":"everything","on":true}', 1008],
        ['{"kind":"invoke","id":-1,"method":"getSettings","args":[]}', 1008],
        ['[1,2,3]', 1008],
        // An unknown key quoted in the reason would overflow a close frame (123 bytes): the reason is fixed.
        [JSON.stringify({ kind: 'listen', event: 'drives', on: true, ['é'.repeat(200)]: 1 }), 1008],
      ] as const) {
        const client = await connectHostApi(host);
        client.ws.send(text);
        expect(await client.closed, text).toBe(code);
      }
      const binary = await connectHostApi(host);
      binary.ws.send(Buffer.from([1, 2, 3]));
      expect(await binary.closed).toBe(1003);
      const huge = await connectHostApi(host);
      huge.ws.send('x'.repeat(64 * 1024 + 1));
      expect(await huge.closed).toBe(1009);
      expect(await bystander.call('getSettings')).toMatchObject({ ok: true });
    } finally {
      await bystander.close();
    }
    expect(host.process.exitCode).toBeNull();
  });

  it('refuses the test endpoint without the token, with a wrong one, or with it in the query', async () => {
    expect((await fetch(`${host.origin}/__test/pick`, { method: 'POST', body: '/etc/passwd' })).status).toBe(403);
    expect((await fetch(`${host.origin}/__test/pick`, { method: 'POST', body: '/etc/passwd', headers: { authorization: 'Bearer nope' } })).status).toBe(403);
    expect((await fetch(`${host.origin}/__test/pick?token=${host.token}`, { method: 'POST', body: '/etc/passwd' })).status).toBe(403);
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
      const busy = runHost(['--allow-loop', '--port', String(port), '--user-data-dir', join(dir, 'busy')]);
      expect(busy.status).toBe(1);
      expect(busy.stderr).toMatch(/port is already in use: choose another with --port N/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    const fixed = await startHost(['--allow-loop', '--port', String(port), '--user-data-dir', join(dir, 'fixed')]);
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
      const second = await startHost(['--allow-loop', '--user-data-dir', join(dir, 'second')]);
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

    it('takes the token out of the address bar, and a reload or a reopened address still reaches the host', async () => {
      const browser = await launchBrowser();
      try {
        const page = await browser.context.newPage();
        await page.goto(`${host.url}#top`);
        await page.getByRole('heading', { name: 'Image' }).waitFor();
        await expect.poll(() => page.url()).toBe(`${host.origin}/#top`);
        const selectImage = async (name: string): Promise<void> => {
          // Only a working connection to the host can answer "Select image".
          const image = join(dir, name);
          writeFileSync(image, Buffer.alloc(64 * 1024, 3));
          await host.pick(image);
          await page.getByRole('button', { name: /^(Select|Change) image$/ }).click();
          await page.getByText(name).or(page.getByRole('alert')).first().waitFor();
          expect(await page.getByRole('alert').allTextContents()).toEqual([]);
        };
        await selectImage('first.img');
        await page.reload();
        await page.getByRole('heading', { name: 'Image' }).waitFor();
        expect(page.url()).toBe(`${host.origin}/#top`);
        await selectImage('reloaded.img');
        // The address without the token, typed again in the same tab (an empty ?token= must not override the kept one).
        await page.goto(`${host.origin}/?token=`);
        await page.getByRole('heading', { name: 'Image' }).waitFor();
        expect(page.url()).toBe(`${host.origin}/`);
        await selectImage('reopened.img');
      } finally {
        await browser.close();
      }
    });

    it('says how to get in when a new tab opens the page without the token, or with a stale one', async () => {
      const browser = await launchBrowser();
      try {
        const page = await browser.context.newPage();
        await page.goto(`${host.origin}/`);
        await page.getByRole('alert').filter({ hasText: /^This page has no access token: open the exact address the Sureflash host printed/ }).waitFor();
        await page.goto(`${host.origin}/?token=stale`);
        await page.getByRole('alert').filter({ hasText: /^Could not connect to the Sureflash host: open the exact address it printed/ }).waitFor();
      } finally {
        await browser.close();
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
          // Keyboard: after the header's Station mode, Settings and About, the first Tab stop is "Select image",
          // with a visible focus ring that is not the colour of "retrying".
          for (let i = 0; i < 4; i += 1) await page.keyboard.press('Tab');
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
          // The machine's own loop devices are listed too (--allow-loop): when exactly one is attached, the
          // page chooses it for the user and the button reads "Change target".
          const targetButton = page.getByRole('button', { name: /^(Select|Change) target$/ });
          await targetButton.click();
          await page.getByRole('dialog', { name: 'Select target' }).waitFor();
          const flash = await page.getByRole('button', { name: 'Flash!' }).boundingBox();
          const onTop = await page.evaluate(
            ([x, y]) => document.elementFromPoint(x ?? 0, y ?? 0)?.closest('.backdrop') !== null,
            [(flash?.x ?? 0) + (flash?.width ?? 0) / 2, (flash?.y ?? 0) + (flash?.height ?? 0) / 2],
          );
          expect(onTop).toBe(true);
          await page.keyboard.press('Escape');
          await page.getByRole('dialog').waitFor({ state: 'detached' });
          expect(await targetButton.evaluate((el) => el === document.activeElement)).toBe(true);
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
