/**
 * Arguments of `sureflash copy` and `sureflash verify`, bmaptool-compatible where the options overlap
 * (--bmap, --nobmap, --no-verify, --checksum-retry[=N]); several DESTs write the same image to several cards.
 */
import { parseArgs } from 'node:util';
import { MAX_TARGETS } from '../../shared/api';
import { MAX_RETRIES } from '../../shared/retry-limit';
import { defaultCacheDir } from '../engine/cache/download-cache';
import type { ImageAuthOptions } from '../engine/image-options';
import type { FlashJob } from '../engine/protocol';

export class UsageError extends Error {}

export interface FlashCommand {
  job: FlashJob;
  reportPath: string | null;
  quiet: boolean;
  /** Where copy records the cards it wrote: a file, null for the app's history, false for nowhere. */
  history: string | null | false;
}

/** `--checksum-retry` bare means 1, like bmaptool's; parseArgs has no optional values, so normalise first. */
function normaliseRetry(argv: string[]): string[] {
  return argv.map((a) => (a === '--checksum-retry' ? '--checksum-retry=1' : a));
}

function parseRetries(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d+$/.test(value)) throw new UsageError(`--checksum-retry takes a whole number of retries, not "${value}"`);
  const n = Number(value);
  if (n > MAX_RETRIES) throw new UsageError(`--checksum-retry is at most ${MAX_RETRIES}, not ${n}`);
  return n;
}

function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) < 1 || Number(value) > 3600) {
    throw new UsageError(`--io-timeout takes seconds between 1 and 3600, not "${value}"`);
  }
  return Math.round(Number(value) * 1000);
}

export function parseFlashArgs(mode: 'copy' | 'verify', argv: string[]): FlashCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: normaliseRetry(argv),
      allowPositionals: true,
      strict: true,
      options: {
        bmap: { type: 'string' },
        nobmap: { type: 'boolean' },
        'no-verify': { type: 'boolean' },
        'no-readback': { type: 'boolean' },
        'checksum-retry': { type: 'string' },
        'skip-identical': { type: 'boolean' },
        'no-probe': { type: 'boolean' },
        'io-timeout': { type: 'string' },
        report: { type: 'string' },
        decoder: { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        'no-sig-verify': { type: 'boolean' },
        'bmap-sig': { type: 'string' },
        keyring: { type: 'string' },
        fingerprint: { type: 'string' },
        sha256: { type: 'string' },
        cache: { type: 'boolean' },
        'history-db': { type: 'string' },
        'no-history': { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
  const { values, positionals } = parsed;
  if (positionals.length < 2) {
    throw new UsageError(`${mode} needs IMAGE and at least one DEST (got ${positionals.length} argument${positionals.length === 1 ? '' : 's'})`);
  }
  if (positionals.length - 1 > MAX_TARGETS) throw new UsageError(`${mode} writes at most ${MAX_TARGETS} DESTs at once, not ${positionals.length - 1}`);
  if (values.bmap !== undefined && values.nobmap) throw new UsageError('--bmap and --nobmap cannot be used together');
  if (mode === 'verify' && (values['checksum-retry'] !== undefined || values['no-readback'] || values['skip-identical'] || values['no-probe'])) {
    throw new UsageError('verify reads only: --checksum-retry, --no-readback, --skip-identical and --no-probe belong to copy');
  }
  if (mode === 'verify' && (values['history-db'] !== undefined || values['no-history'])) {
    throw new UsageError('verify records nothing in the history: --history-db and --no-history belong to copy');
  }
  if (values['history-db'] !== undefined && values['no-history']) throw new UsageError('--history-db and --no-history cannot be used together');
  if (values['history-db'] === '') throw new UsageError('--history-db needs a file');
  if (values['skip-identical'] && values['no-readback']) throw new UsageError('--skip-identical reads the card; it cannot be combined with --no-readback');
  const decoder = values.decoder ?? 'auto';
  if (decoder !== 'auto' && decoder !== 'builtin') throw new UsageError(`--decoder is "auto" or "builtin", not "${decoder}"`);
  const [image, ...dests] = positionals as [string, ...string[]];
  const twice = dests.find((d, i) => dests.indexOf(d) !== i);
  if (twice !== undefined) throw new UsageError(`DEST ${twice} is named twice`);
  if (values.bmap === '') throw new UsageError('--bmap needs a file');
  const ioTimeoutMs = parseTimeout(values['io-timeout']);
  const auth = authOptions(values);
  if (values['bmap-sig'] !== undefined && values.nobmap) throw new UsageError('--bmap-sig and --nobmap cannot be used together');
  return {
    job: {
      mode,
      image,
      targets: dests.map((path) => ({ path })),
      ...(values.bmap !== undefined ? { bmapPath: values.bmap } : {}),
      noBmap: values.nobmap ?? false,
      readback: !values['no-readback'],
      verifySource: !values['no-verify'],
      retries: parseRetries(values['checksum-retry']),
      skipIdentical: values['skip-identical'] ?? false,
      probe: !values['no-probe'],
      ...(ioTimeoutMs !== undefined ? { ioTimeoutMs } : {}),
      decoder,
      ...(Object.keys(auth).length > 0 ? { auth } : {}),
      ...(values.cache ? { cache: { dir: defaultCacheDir(), limitBytes: null } } : {}),
    },
    reportPath: values.report ?? null,
    quiet: values.quiet ?? false,
    history: mode === 'verify' || values['no-history'] ? false : (values['history-db'] ?? null),
  };
}

/** The signature and checksum options, refused in the combinations bmaptool 3.9 refuses. */
function authOptions(values: Record<string, string | boolean | undefined>): ImageAuthOptions {
  const text = (name: string): string | undefined => {
    const value = values[name];
    if (value === '') throw new UsageError(`--${name} needs a value`);
    return typeof value === 'string' ? value : undefined;
  };
  const noSigVerify = values['no-sig-verify'] === true;
  const bmapSig = text('bmap-sig');
  const keyring = text('keyring');
  const fingerprint = text('fingerprint');
  const sha256 = text('sha256');
  for (const [name, value] of [['--bmap-sig', bmapSig], ['--keyring', keyring], ['--fingerprint', fingerprint]] as const) {
    if (noSigVerify && value !== undefined) throw new UsageError(`${name} and --no-sig-verify cannot be used together`);
  }
  if (fingerprint !== undefined && !/^(0x)?[0-9a-fA-F]{16,64}$/.test(fingerprint.replace(/\s+/g, ''))) {
    throw new UsageError(`--fingerprint takes a key fingerprint in hex (40 digits for a v4 key), not "${fingerprint}"`);
  }
  if (sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(sha256.trim())) {
    throw new UsageError(`--sha256 takes the image's SHA-256 as 64 hex digits, not "${sha256}"`);
  }
  return {
    ...(bmapSig !== undefined ? { bmapSig } : {}),
    ...(keyring !== undefined ? { keyring } : {}),
    ...(fingerprint !== undefined ? { fingerprint } : {}),
    ...(noSigVerify ? { noSigVerify } : {}),
    ...(sha256 !== undefined ? { sha256: sha256.trim().toLowerCase() } : {}),
  };
}
