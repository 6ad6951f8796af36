/**
 * Arguments of `sureflash copy` and `sureflash verify`, bmaptool-compatible where the options overlap
 * (--bmap, --nobmap, --no-verify, --checksum-retry[=N]).
 */
import { parseArgs } from 'node:util';
import { MAX_RETRIES } from '../../shared/retry-limit';
import type { FlashJob } from '../engine/protocol';

export class UsageError extends Error {}

export interface FlashCommand {
  job: FlashJob;
  reportPath: string | null;
  quiet: boolean;
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
        report: { type: 'string' },
        decoder: { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        'no-sig-verify': { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 2) {
    throw new UsageError(`${mode} needs IMAGE and DEST (got ${positionals.length} argument${positionals.length === 1 ? '' : 's'})`);
  }
  if (values.bmap !== undefined && values.nobmap) throw new UsageError('--bmap and --nobmap cannot be used together');
  if (mode === 'verify' && (values['checksum-retry'] !== undefined || values['no-readback'])) {
    throw new UsageError('verify reads only: --checksum-retry and --no-readback belong to copy');
  }
  const decoder = values.decoder ?? 'auto';
  if (decoder !== 'auto' && decoder !== 'builtin') throw new UsageError(`--decoder is "auto" or "builtin", not "${decoder}"`);
  const [image, target] = positionals as [string, string];
  if (values.bmap === '') throw new UsageError('--bmap needs a file');
  return {
    job: {
      mode,
      image,
      target,
      ...(values.bmap !== undefined ? { bmapPath: values.bmap } : {}),
      noBmap: values.nobmap ?? false,
      readback: !values['no-readback'],
      verifySource: !values['no-verify'],
      retries: parseRetries(values['checksum-retry']),
      decoder,
    },
    reportPath: values.report ?? null,
    quiet: values.quiet ?? false,
  };
}
