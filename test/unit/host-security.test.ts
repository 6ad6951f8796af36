import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseHostRequest } from '../../src/main/host/host-connection';
import { drivePolicy, parseHostOptions } from '../../src/main/host/host-options';
import { bearerToken, handshakeToken, tokensEqual } from '../../src/main/host/host-security';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('host drive policy', () => {
  it.each([
    // [flags, root, allowLoop, onlyLoopDevices]
    [[], false, false, false],
    [['--allow-loop'], false, true, false],
    [['--allow-real-drives'], false, false, false],
    [['--allow-loop'], true, true, true],
    [['--allow-real-drives'], true, false, false],
    [['--allow-loop', '--allow-real-drives'], true, true, false],
  ] as const)('%j as root=%s: loops %s, loops only %s', (flags, root, allowLoop, onlyLoopDevices) => {
    expect(drivePolicy(parseHostOptions(flags), root)).toMatchObject({ allowLoop, onlyLoopDevices });
  });

  it('refuses root with neither flag, saying what each flag does', () => {
    expect(() => drivePolicy(parseHostOptions([]), true)).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/--allow-loop to list only loop devices .* --allow-real-drives to list real drives too/) }),
    );
  });
});

describe('host tokens', () => {
  it('takes the token from the second subprotocol, next to ours, and only one of them', () => {
    expect(handshakeToken(req({ 'sec-websocket-protocol': 'sureflash.v1, sureflash.token.abc' }))).toBe('abc');
    expect(handshakeToken(req({ 'sec-websocket-protocol': 'sureflash.token.abc' }))).toBeNull();
    expect(handshakeToken(req({ 'sec-websocket-protocol': 'sureflash.v1, sureflash.token.a, sureflash.token.b' }))).toBeNull();
    expect(handshakeToken(req({}))).toBeNull();
  });

  it('takes a bearer token from Authorization only in its exact form', () => {
    expect(bearerToken(req({ authorization: 'Bearer abc-_1' }))).toBe('abc-_1');
    expect(bearerToken(req({ authorization: 'Basic abc' }))).toBeNull();
    expect(bearerToken(req({ authorization: 'Bearer ' }))).toBeNull();
  });

  it('never matches an empty or missing token', () => {
    expect(tokensEqual('', '')).toBe(false);
    expect(tokensEqual(null, 'x')).toBe(false);
    expect(tokensEqual('x', 'x')).toBe(true);
    expect(tokensEqual('xy', 'x')).toBe(false);
  });
});

describe('host request parsing', () => {
  it('accepts invoke and listen requests', () => {
    expect(parseHostRequest('{"kind":"invoke","id":3,"method":"flash","args":[{}]}')).toEqual({ kind: 'invoke', id: 3, method: 'flash', args: [{}] });
    expect(parseHostRequest('{"kind":"listen","event":"confirm","on":true}')).toEqual({ kind: 'listen', event: 'confirm', on: true });
  });

  it.each([
    ['{', 'not JSON'],
    ['null', 'not a request'],
    ['{"kind":"watch-drives","on":true}', 'not a request'],
    ['{"kind":"invoke","id":1.5,"method":"x","args":[]}', 'not a request (id:'],
    ['{"kind":"invoke","id":1,"method":"x","args":{}}', 'not a request (args:'],
    ['{"kind":"invoke","id":1,"method":"x","args":[],"extra":1}', 'not a request'],
    ['{"kind":"listen","event":"secrets","on":true}', 'not a request (event:'],
    [`{"kind":"invoke","id":1,"method":"${'m'.repeat(65)}","args":[]}`, 'not a request (method:'],
  ])('refuses %s', (text, reason) => {
    expect(parseHostRequest(text)).toEqual(expect.stringContaining(reason));
  });
});
