/**
 * The `sureflash` command: copy (bmaptool-compatible), verify and drives over the same engine as the app,
 * station (flash every card inserted afterwards) and history (what was recorded).
 * Exit codes: 0 verified, 1 any failure or cancel, 2 usage error.
 */
import { setFlagsFromString } from 'node:v8';
import { MAX_TARGETS } from '../../shared/api';
import { MAX_RETRIES } from '../../shared/retry-limit';
import { VERSION } from '../version';
import { UsageError } from './flash-args';
import { runFlashCommand } from './flash-command';

// This thread relays the engine's events and writes the report; it allocates in bursts (a card's report of
// 50,000 ranges arriving, then written out), and V8's young generation would grow to 48 MB for them. 1 MB
// semi-spaces: measured on that bmap, 14 MB less peak RSS and no more CPU. Set before the heap grows.
setFlagsFromString('--max-semi-space-size=1');

const USAGE = `Usage: sureflash <command> [options]

Commands:
  copy   [--bmap FILE|URL | --nobmap] [--no-verify] [--no-readback] [--checksum-retry[=N]]
         [--bmap-sig FILE|URL] [--keyring FILE] [--fingerprint FPR | --no-sig-verify]
         [--sha256 HEX] [--cache] [--report FILE] [--decoder auto|builtin] [--skip-identical]
         [--no-probe] [--io-timeout SECONDS] [--history-db FILE | --no-history] [-q] IMAGE DEST [DEST...]
         Write IMAGE (raw, .gz, .bz2, .xz, .zst, .zip; "-" for stdin; or an http(s) URL) to DEST
         (a block device or a file); several DESTs (up to ${MAX_TARGETS}) get the same image at once,
         the image read once, each card written, read back and judged on its own.
         Only blocks the bmap maps are written; IMAGE.bmap (and shorter names) is found automatically.
         Every written range is read back from the device, bypassing caches, and compared; with
         --checksum-retry=N (N=1 when bare, at most ${MAX_RETRIES}) ranges that did not hold are rewritten up to N times.
  verify [--bmap FILE | --nobmap] [--report FILE] [-q] IMAGE DEST [DEST...]
         Read-only check of already flashed DESTs against the bmap checksums (or the image).
  drives [--json] [--all] [--allow-loop]
         List drives with Sureflash's verdict on each.
  history [--card ID] [--session ID] [--csv | --json] [--db FILE]
         The cards flashed so far (identity, flashes, health, trend), one card's past, or a station
         session; --csv / --json export it.
  station [--bmap FILE | --nobmap] [--checksum-retry N] [--skip-identical] [--log FILE.jsonl]
         [--max-cards K] [--max-size SIZE] [--slot PATH]... [--no-probe] [--no-readback]
         [--name NAME] [--history-db FILE | --no-history] [--allow-loop] IMAGE
         Arm a flashing station: every card inserted afterwards (never a drive present when armed,
         a system drive or one over the size limit) is flashed, read back, logged, recorded in the
         history and given a health verdict. Ctrl-C stops taking cards; a second Ctrl-C cancels
         the running ones. 'sureflash station --help' for every option.
  cache  ls [--json] | clear
         List or remove the images kept by copy --cache.

Options:
  --no-verify      do not check the image against the bmap checksums while streaming (bmaptool's option)
  --no-readback    do not read written data back (the report then says written-unverified)
  --bmap-sig FILE  the bmap's detached signature (else IMAGE's bmap .asc/.sig/.gpg, or a clearsigned bmap)
  --keyring FILE   public keys to check it against (default: gpgv's ~/.gnupg/trustedkeys.kbx or .gpg)
  --fingerprint F  the key that must have signed the bmap
  --no-sig-verify  do not check the bmap's signature
  --sha256 HEX     the image file's SHA-256 (else IMAGE.sha256 or SHA256SUMS next to it)
  --cache          keep a URL image's download and reuse it, verified, next time
  --skip-identical read each stretch of the card first and write only the blocks that differ
  --no-probe       skip the capacity probe (test markers that catch counterfeit cards)
  --io-timeout S   a card that answers no I/O for S seconds fails as stalled (default 30)
  --report FILE    write the JSON report of what happened, range by range (one per card, in a batch)
  --history-db F   record the cards copy writes in this history file (default: the app's history,
                   which 'sureflash history' shows); only block devices are recorded
  --no-history     do not record this copy in the history
  -q, --quiet      no progress output
  -h, --help       this help; --version prints the version

Exit status: 0 verified, 1 failed or cancelled, 2 usage error.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-V') {
    process.stdout.write(`sureflash ${VERSION}\n`);
    return 0;
  }
  if ((rest.includes('-h') || rest.includes('--help')) && command !== 'station') {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (command) {
    case 'copy':
    case 'verify':
      return runFlashCommand(command, rest, { stdout: process.stdout, stderr: process.stderr, signals: process });
    case 'cache': {
      const { runCacheCommand } = await import('./cache-command');
      return runCacheCommand(rest, { stdout: process.stdout, stderr: process.stderr });
    }
    case 'drives': {
      // Loaded on demand: drivelist's native module costs start-up time the other commands do not need.
      const { runDrivesCommand } = await import('./drives-command');
      return runDrivesCommand(rest, { stdout: process.stdout, stderr: process.stderr });
    }
    case 'station': {
      // Loaded on demand: drivelist and better-sqlite3 are needed by this command only.
      const { runStationCommand } = await import('./station-command');
      return runStationCommand(rest, { stdout: process.stdout, stderr: process.stderr, signals: process });
    }
    case 'history': {
      // Loaded on demand, like drives: better-sqlite3's native module is needed by this command only.
      const { runHistoryCommand } = await import('./history-command');
      return runHistoryCommand(rest, { stdout: process.stdout, stderr: process.stderr });
    }
    default:
      throw new UsageError(`unknown command "${command}" (commands: copy, verify, station, drives, history, cache)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`sureflash: error: ${err.message}\nTry 'sureflash --help'.\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`sureflash: error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
