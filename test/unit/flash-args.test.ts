import { describe, expect, it } from 'vitest';
import { parseFlashArgs, UsageError } from '../../src/main/cli/flash-args';

describe('sureflash copy/verify arguments', () => {
  it('defaults: readback on, source check on, no retries, auto decoder', () => {
    const { job, reportPath, quiet } = parseFlashArgs('copy', ['os.img.xz', '/dev/sdb']);
    expect(job).toMatchObject({ mode: 'copy', image: 'os.img.xz', targets: [{ path: '/dev/sdb' }], skipIdentical: false, probe: true, readback: true, verifySource: true, retries: 0, decoder: 'auto', noBmap: false });
    expect(job.bmapPath).toBeUndefined();
    expect(reportPath).toBeNull();
    expect(quiet).toBe(false);
  });
  it('--checksum-retry bare means 1, like bmaptool; =N sets N', () => {
    expect(parseFlashArgs('copy', ['--checksum-retry', 'a', 'b']).job.retries).toBe(1);
    expect(parseFlashArgs('copy', ['--checksum-retry=3', 'a', 'b']).job.retries).toBe(3);
  });
  it('takes the bmaptool options and ours', () => {
    const { job, reportPath, quiet } = parseFlashArgs('copy', ['--bmap', 'x.bmap', '--no-verify', '--no-readback', '--report', 'r.json', '-q', '--decoder', 'builtin', 'a', 'b']);
    expect(job).toMatchObject({ bmapPath: 'x.bmap', verifySource: false, readback: false, decoder: 'builtin' });
    expect(reportPath).toBe('r.json');
    expect(quiet).toBe(true);
  });
  it.each([
    [['a'], /needs IMAGE and at least one DEST/],
    [['--bmap', 'x', '--nobmap', 'a', 'b'], /cannot be used together/],
    [['--checksum-retry=x', 'a', 'b'], /whole number/],
    [['--checksum-retry=11', 'a', 'b'], /at most 10/],
    [['--decoder', 'fast', 'a', 'b'], /"auto" or "builtin"/],
    [['--frobnicate', 'a', 'b'], /frobnicate/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseFlashArgs('copy', argv)).toThrow(UsageError);
    expect(() => parseFlashArgs('copy', argv)).toThrow(message);
  });
  it('takes several DESTs (one job, one image, a card each), once each', () => {
    const { job } = parseFlashArgs('copy', ['--skip-identical', '--no-probe', '--io-timeout', '5', 'os.img', '/dev/sdb', '/dev/sdc']);
    expect(job).toMatchObject({ targets: [{ path: '/dev/sdb' }, { path: '/dev/sdc' }], skipIdentical: true, probe: false, ioTimeoutMs: 5000 });
    expect(() => parseFlashArgs('copy', ['os.img', '/dev/sdb', '/dev/sdb'])).toThrow(/named twice/);
    expect(() => parseFlashArgs('copy', ['os.img', ...Array.from({ length: 17 }, (_, i) => `/dev/sd${i}`)])).toThrow(/at most 16/);
    expect(() => parseFlashArgs('copy', ['--io-timeout', '0', 'a', 'b'])).toThrow(/between 1 and 3600/);
    expect(() => parseFlashArgs('copy', ['--skip-identical', '--no-readback', 'a', 'b'])).toThrow(/cannot be combined/);
  });
  it('verify refuses write-only options', () => {
    expect(() => parseFlashArgs('verify', ['--checksum-retry=2', 'a', 'b'])).toThrow(/belong to copy/);
  });
});

describe('URL image options', () => {
  it('takes the signature, checksum and cache options', () => {
    const fpr = 'AB'.repeat(20);
    const { job } = parseFlashArgs('copy', ['--bmap-sig', 's.asc', '--keyring', 'k.kbx', '--fingerprint', fpr, '--sha256', 'CD'.repeat(32), '--cache', 'https://h/os.img.xz', 'b']);
    expect(job.image).toBe('https://h/os.img.xz');
    expect(job.auth).toEqual({ bmapSig: 's.asc', keyring: 'k.kbx', fingerprint: fpr, sha256: 'cd'.repeat(32) });
    expect(job.cache?.dir).toMatch(/sureflash/);
    expect(parseFlashArgs('copy', ['a', 'b']).job.cache).toBeUndefined();
    expect(parseFlashArgs('copy', ['--no-sig-verify', 'a', 'b']).job.auth).toEqual({ noSigVerify: true });
  });
  it.each([
    [['--no-sig-verify', '--bmap-sig', 'x', 'a', 'b'], /--bmap-sig and --no-sig-verify/],
    [['--no-sig-verify', '--keyring', 'x', 'a', 'b'], /--keyring and --no-sig-verify/],
    [['--no-sig-verify', '--fingerprint', 'AB'.repeat(20), 'a', 'b'], /--fingerprint and --no-sig-verify/],
    [['--fingerprint', 'xyz', 'a', 'b'], /fingerprint in hex/],
    [['--sha256', '123', 'a', 'b'], /64 hex digits/],
    [['--bmap-sig', 's', '--nobmap', 'a', 'b'], /--bmap-sig and --nobmap/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseFlashArgs('copy', argv)).toThrow(message);
  });
});
