import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_EVENT_LISTENERS, API_EVENTS, API_INVOKE_METHODS, type ApiEvent } from '../../src/shared/api';
import { createApiProxy } from '../../src/shared/api-proxy';
import { CONTENT_SECURITY_POLICY, META_CONTENT_SECURITY_POLICY } from '../../src/shared/content-security-policy';
import { API_ARGS } from '../../src/main/services/api-validation';

const root = join(__dirname, '..', '..');

describe('the Api built from the contract', () => {
  it('has every invoke method, every event listener and pathForFile, and calls the transport with them', async () => {
    const invoked: [string, unknown[]][] = [];
    const subscribed: ApiEvent[] = [];
    const api = createApiProxy({
      invoke: async (method, args) => (invoked.push([method, args]), { ok: true, value: method }),
      subscribe: (event) => (subscribed.push(event), () => undefined),
      pathForFile: () => '/dropped.img',
    });
    expect(Object.keys(api).sort()).toEqual([...API_INVOKE_METHODS, ...Object.values(API_EVENT_LISTENERS), 'pathForFile'].sort());
    for (const method of API_INVOKE_METHODS) expect(await api[method]('a' as never, true as never)).toEqual({ ok: true, value: method });
    expect(invoked).toEqual(API_INVOKE_METHODS.map((method) => [method, ['a', true]]));
    api.onDrives(() => undefined);
    api.onFlashEvent(() => undefined);
    api.onConfirm(() => undefined);
    expect(subscribed).toEqual(['drives', 'flash', 'confirm']);
    expect(api.pathForFile({} as File)).toBe('/dropped.img');
  });

  it('has one argument schema per invoke method and one channel per event', () => {
    expect(Object.keys(API_ARGS).sort()).toEqual([...API_INVOKE_METHODS].sort());
    expect(Object.keys(API_EVENT_LISTENERS).sort()).toEqual(Object.keys(API_EVENTS).sort());
  });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('the Content-Security-Policy', () => {
  it('is written in one place only (src/shared/content-security-policy.ts)', () => {
    const sources = [...filesUnder(join(root, 'src')), join(root, 'vite.config.mts'), join(root, 'scripts', 'build.mjs')];
    const holders = sources.filter((file) => /default-src|script-src/.test(readFileSync(file, 'utf8'))).map((file) => relative(root, file));
    expect(holders).toEqual(['src/shared/content-security-policy.ts']);
  });

  it('keeps header-only directives out of the meta tag and nothing else', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(META_CONTENT_SECURITY_POLICY).not.toContain('frame-ancestors');
    expect(CONTENT_SECURITY_POLICY.replace("; frame-ancestors 'none'", '')).toBe(META_CONTENT_SECURITY_POLICY);
  });
});
