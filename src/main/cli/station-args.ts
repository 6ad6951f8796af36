/**
 * Arguments of `sureflash station`: the image and its checks as `copy` takes them, the station's own limits
 * (cards at a time, size, slots), the log file and where the history goes.
 */
import { parseArgs } from 'node:util';
import { MAX_TARGETS } from '../../shared/api';
import { MAX_RETRIES } from '../../shared/retry-limit';
import type { StationAuthOptions, StationOptions } from '../../shared/station';
import { UsageError } from './flash-args';

export const DEFAULT_MAX_CARDS = 4;

export const STATION_USAGE = `Usage: sureflash station [--bmap FILE | --nobmap] [--checksum-retry N] [--skip-identical]
                         [--log FILE.jsonl] [--max-cards K] [--max-size SIZE] [--slot PATH]...
                         [--no-probe] [--no-readback] [--name NAME] [--allow-loop]
                         [--history-db FILE | --no-history] IMAGE

Arm a flashing station: every card inserted from now on (that the drive rules allow) is flashed with
IMAGE, read back, recorded and given a health verdict (Keep, Watch, Retire). Drives present now are
never touched. Ctrl-C stops taking cards and lets the running ones finish; a second Ctrl-C cancels them.
  --bmap FILE         the bmap (default: found next to IMAGE); --nobmap writes the whole image
  --checksum-retry N  rewrite ranges that did not hold up to N times (0-${MAX_RETRIES}; bare: 1; default 0)
  --skip-identical    write only the blocks a card does not already hold
  --log FILE          append one JSON line per card to FILE
  --max-cards K       flash at most K cards at a time (1-${MAX_TARGETS}, default ${DEFAULT_MAX_CARDS})
  --max-size SIZE     never take a drive larger than SIZE (e.g. 64G, 512M; default 128G)
  --slot PATH         take only drives on this USB port or slot (a sysfs path prefix, see
                      'sureflash drives --json'); repeat for several
  --no-probe          skip the capacity probe (counterfeit cards are then not caught)
  --no-readback       do not read back (cards end "written, not verified": exit 1)
  --name NAME         the station's name in the log and the history (default: the host name)
  --history-db FILE   record into this history file (default: the app's history)
  --no-history        do not record the flashes in the history
  --allow-loop        take loop devices too (for testing)
  --bmap-sig, --keyring, --fingerprint, --no-sig-verify, --sha256, --io-timeout: as for copy

Exit status: 0 every card taken was verified, 1 any card was not, 2 usage error.
`;

export interface StationCommand {
  options: StationOptions;
  allowLoop: boolean;
  /** The history file (null: the app's), or false for none. */
  history: string | null | false;
}

/** "64G", "64GB", "64GiB", "512M", "1.5T", "4096": bytes (K, M, G, T are powers of 1000; KiB… powers of 1024). */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$/i.exec(text);
  if (!match) throw new UsageError(`--max-size takes a size such as 64G or 512M, not "${text}"`);
  const [, number = '0', unit = '', binary = ''] = match;
  const power = ['', 'k', 'm', 'g', 't'].indexOf(unit.toLowerCase());
  const bytes = Number(number) * (binary ? 1024 : 1000) ** power;
  if (!(bytes >= 1)) throw new UsageError(`--max-size must be at least one byte, not "${text}"`);
  return Math.floor(bytes);
}

function wholeNumber(name: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${name} takes a whole number from ${min} to ${max}, not "${value}"`);
  }
  return Number(value);
}

/** `--checksum-retry N`, `--checksum-retry=N`, or bare (1, like bmaptool's). */
function normaliseRetry(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg !== '--checksum-retry') out.push(arg);
    else if (/^\d+$/.test(argv[i + 1] ?? '') && i + 2 < argv.length) {
      out.push(`--checksum-retry=${argv[i + 1]}`);
      i += 1;
    } else out.push('--checksum-retry=1');
  }
  return out;
}

export function parseStationArgs(argv: string[]): StationCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: normaliseRetry(argv),
      allowPositionals: true,
      strict: true,
      options: {
        bmap: { type: 'string' },
        nobmap: { type: 'boolean' },
        'checksum-retry': { type: 'string' },
        'skip-identical': { type: 'boolean' },
        log: { type: 'string' },
        'allow-loop': { type: 'boolean' },
        'max-cards': { type: 'string' },
        'max-size': { type: 'string' },
        slot: { type: 'string', multiple: true },
        'no-probe': { type: 'boolean' },
        'no-readback': { type: 'boolean' },
        name: { type: 'string' },
        'history-db': { type: 'string' },
        'no-history': { type: 'boolean' },
        'io-timeout': { type: 'string' },
        'bmap-sig': { type: 'string' },
        keyring: { type: 'string' },
        fingerprint: { type: 'string' },
        'no-sig-verify': { type: 'boolean' },
        sha256: { type: 'string' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(`station needs exactly one IMAGE (got ${positionals.length} arguments)`);
  const image = positionals[0] as string;
  if (values.bmap !== undefined && values.nobmap) throw new UsageError('--bmap and --nobmap cannot be used together');
  if (values['skip-identical'] && values['no-readback']) throw new UsageError('--skip-identical reads the card; it cannot be combined with --no-readback');
  if (values['history-db'] !== undefined && values['no-history']) throw new UsageError('--history-db and --no-history cannot be used together');
  for (const name of ['bmap', 'log', 'name', 'history-db', 'bmap-sig', 'keyring', 'fingerprint', 'sha256'] as const) {
    if (values[name] !== undefined && values[name].trim() === '') throw new UsageError(`--${name} needs a value`);
  }
  const slots = values.slot ?? [];
  for (const slot of slots) {
    if (!slot.startsWith('/')) throw new UsageError(`--slot takes a sysfs device path starting with "/" (such as /devices/pci0000:00/…/usb1/1-2), not "${slot}"`);
  }
  if (values['no-sig-verify'] && (values['bmap-sig'] !== undefined || values.keyring !== undefined || values.fingerprint !== undefined)) {
    throw new UsageError('--bmap-sig, --keyring and --fingerprint cannot be used with --no-sig-verify');
  }
  if (values.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(values.sha256.trim())) {
    throw new UsageError(`--sha256 takes the image's SHA-256 as 64 hex digits, not "${values.sha256}"`);
  }
  const auth: StationAuthOptions = {
    ...(values['bmap-sig'] !== undefined ? { bmapSig: values['bmap-sig'] } : {}),
    ...(values.keyring !== undefined ? { keyring: values.keyring } : {}),
    ...(values.fingerprint !== undefined ? { fingerprint: values.fingerprint } : {}),
    ...(values['no-sig-verify'] ? { noSigVerify: true } : {}),
    ...(values.sha256 !== undefined ? { sha256: values.sha256.trim().toLowerCase() } : {}),
  };
  let ioTimeoutMs: number | undefined;
  if (values['io-timeout'] !== undefined) {
    const seconds = values['io-timeout'];
    if (!/^\d+(\.\d+)?$/.test(seconds) || Number(seconds) < 1 || Number(seconds) > 3600) {
      throw new UsageError(`--io-timeout takes seconds between 1 and 3600, not "${seconds}"`);
    }
    ioTimeoutMs = Math.round(Number(seconds) * 1000);
  }
  const options: StationOptions = {
    imagePath: image,
    ...(values.nobmap ? { bmapPath: null } : values.bmap !== undefined ? { bmapPath: values.bmap } : {}),
    retries: values['checksum-retry'] === undefined ? 0 : wholeNumber('--checksum-retry', values['checksum-retry'], 0, MAX_RETRIES),
    skipIdentical: values['skip-identical'] ?? false,
    readback: !values['no-readback'],
    probe: !values['no-probe'],
    maxCards: values['max-cards'] === undefined ? DEFAULT_MAX_CARDS : wholeNumber('--max-cards', values['max-cards'], 1, MAX_TARGETS),
    slots,
    maxSizeBytes: values['max-size'] === undefined ? null : parseSize(values['max-size']),
    logFile: values.log ?? null,
    stationName: values.name ?? null,
    ...(Object.keys(auth).length > 0 ? { auth } : {}),
    ...(ioTimeoutMs !== undefined ? { ioTimeoutMs } : {}),
  };
  return {
    options,
    allowLoop: values['allow-loop'] ?? false,
    history: values['no-history'] ? false : (values['history-db'] ?? null),
  };
}
