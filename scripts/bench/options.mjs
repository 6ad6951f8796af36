// Command-line options of `npm run bench` (node scripts/bench.mjs).

export const USAGE = `usage: node scripts/bench.mjs [options]   (root required: loop devices)

  --runs N        measured runs per tool and format, median reported (default 3)
  --quick         one run, raw image only, no memory case (unless --memory)
  --formats LIST  comma list of raw,gz,zst,xz,zip (default all)
  --tools LIST    comma list of bmaptool,sureflash,etcher,dd,decoders (default all)
  --memory        run the 8 GiB / 4 GiB-range memory case (default: on when it fits in RAM and disk)
  --no-memory     skip the memory case
  --work-dir DIR  cached images, reports and results.json (default bench-work/ in the repo)
  --nice N        run every measured command at niceness N, e.g. -10 on a busy machine (default 0)
  --cards         instead: the card model (a FUSE card on a 20 MB/s write, 80 MB/s read bus): the dd
                  floor, bmaptool, dd and sureflash (raw and .xz, of --formats) against the floor, four
                  cards at once, --skip-identical re-flashes; then a bmap of 50,000 ranges on /dev/shm
  --only CASE     with --cards: run only that case; "fragmented" is the 50,000-range case alone
  --card-mbps W,R the card model's write and read speed in MB/s (default 20,80)
  --helper        instead: the elevated path against the in-process path (the engine writing the raw
                  image to the tmpfs loop device through the privileged helper, run as a plain child, and
                  through its own device thread), --runs rounds in alternating order, medians and ratio
  -h, --help      this text

Loop device backing files always live on /dev/shm and are removed at the end.`;

/**
 * @typedef {object} BenchOptions
 * @property {number} runs
 * @property {boolean} quick
 * @property {string[]} formats
 * @property {string[]} tools
 * @property {boolean | null} memory   null: decide by available room
 * @property {string | null} workDir
 * @property {number} nice
 * @property {boolean} cards           run the card model instead of the tmpfs loop device
 * @property {'fragmented' | null} only  with --cards: run only this case
 * @property {boolean} helper          run the helper-vs-in-process comparison instead
 * @property {{ writeMBps: number, readMBps: number } | null} cardSpeeds  null: the card model's default
 * @property {boolean} help
 */

const ALL_FORMATS = ['raw', 'gz', 'zst', 'xz', 'zip'];
const ALL_TOOLS = ['bmaptool', 'sureflash', 'etcher', 'dd', 'decoders'];

/**
 * @param {string} value
 * @param {string[]} allowed
 * @param {string} flag
 */
function list(value, allowed, flag) {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((i) => !allowed.includes(i));
  if (bad.length > 0 || items.length === 0) throw new Error(`${flag}: expected a comma list of ${allowed.join(',')}`);
  return items;
}

/**
 * Parses argv (without node and the script path). Throws with a user-facing message on bad input.
 * @param {string[]} argv
 * @returns {BenchOptions}
 */
export function parseOptions(argv) {
  /** @type {BenchOptions} */
  const o = { runs: 3, quick: false, formats: ALL_FORMATS, tools: ALL_TOOLS, memory: null, workDir: null, nice: 0,
    cards: false, only: null, cardSpeeds: null, helper: false, help: false };
  let formatsGiven = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--runs': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1 || n > 50) throw new Error('--runs: expected a whole number from 1 to 50');
        o.runs = n;
        break;
      }
      case '--quick': o.quick = true; break;
      case '--formats': o.formats = list(value(), ALL_FORMATS, '--formats'); formatsGiven = true; break;
      case '--tools': o.tools = list(value(), ALL_TOOLS, '--tools'); break;
      case '--memory': o.memory = true; break;
      case '--no-memory': o.memory = false; break;
      case '--work-dir': o.workDir = value(); break;
      case '--nice': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < -20 || n > 19) throw new Error('--nice: expected a whole number from -20 to 19');
        o.nice = n;
        break;
      }
      case '--cards': o.cards = true; break;
      case '--only': {
        const v = value();
        if (v !== 'fragmented') throw new Error(`--only: expected "fragmented", not "${v}"`);
        o.only = v;
        break;
      }
      case '--helper': o.helper = true; break;
      case '--card-mbps': {
        const [w, r, ...rest] = value().split(',').map(Number);
        if (w === undefined || r === undefined || rest.length > 0 || !(w > 0 && w <= 10_000) || !(r > 0 && r <= 10_000)) {
          throw new Error('--card-mbps: expected WRITE,READ in MB/s, e.g. 20,80');
        }
        o.cardSpeeds = { writeMBps: w, readMBps: r };
        break;
      }
      case '-h': case '--help': o.help = true; break;
      default: throw new Error(`unknown option ${arg} (see --help)`);
    }
  }
  if (o.only && !o.cards) throw new Error('--only works with --cards');
  if (o.quick) {
    o.runs = 1;
    if (!formatsGiven) o.formats = ['raw'];
    if (o.memory === null) o.memory = false;
  }
  return o;
}
