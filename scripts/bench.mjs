// `npm run bench`: times Sureflash's CLI copy against bmaptool, etcher-sdk, plain dd and the decompressors
// on a cached 2 GiB ext4 image (raw, .gz, .zst, .xz) written to a /dev/shm-backed loop device, prints
// the medians and the goal ratios, writes the same to <work dir>/results.json, and optionally measures
// Sureflash's peak memory on an 8 GiB image with one 4 GiB mapped range. Needs root (loop devices).
//
// Cache policy: the page cache is dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every measured
// run, so each tool starts alike: images on disk are read cold, nothing stays warm from the previous tool.
// The loop device is discarded (blkdiscard -f) before every run, so each writes into a blank target; a failed
// discard stops the bench.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions, USAGE } from './bench/options.mjs';
import { BenchError, have, Interrupted } from './bench/proc.mjs';
import { ensureImageSet } from './bench/images.mjs';
import { attachLoop, blankDevice, detachAll } from './bench/loop-device.mjs';
import { ensureEtcherSdk } from './bench/etcher.mjs';
import { machineFacts, formatMachine } from './bench/machine.mjs';
import { toolsFor, sureflashTool, bmaptoolTool } from './bench/tools.mjs';
import { summarise, evaluateGoals, evaluateComparisons, timingTable, goalsTable, MEMORY_GOAL_MB } from './bench/summary.mjs';
import { memoryCaseFits, ensureMemoryImage } from './bench/memory-case.mjs';
import { readBmapRanges, checkTarget } from './bench/target-check.mjs';
import { runCardBench, runFragmentedBench } from './bench/cards.mjs';
import { cardModelMissing } from './bench/card-model.mjs';
import { runHelperBench } from './bench/helper-path.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (/** @type {string} */ msg) => process.stderr.write(`bench: ${msg}\n`);
const LOOP_SIZE = 2 * 1024 ** 3;
const MEMORY_LOOP_SIZE = 8 * 1024 ** 3;

/** @param {string} message */
function fail(message, code = 2) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(code);
}

/**
 * Version of the Sureflash build under test: package version, checked-out commit, and when the CLI bundle
 * was built (the bundle may be older than the commit when the bench is run without `npm run bench`).
 * @param {string} cli
 */
function sureflashVersion(cli) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const rev = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout?.trim();
  const built = statSync(cli).mtime.toISOString().replace(/\.\d+Z$/, 'Z');
  return `${pkg.version}${rev ? ` (HEAD ${rev})` : ''}, cli.cjs built ${built}`;
}

/**
 * Checks the loop device against the bmap after a writing tool said it succeeded; a mismatch fails the
 * sample (outside the timed part).
 * @param {import('./bench/summary.mjs').Sample} s
 * @param {string} device
 * @param {import('./bench/target-check.mjs').BmapRanges} bmap
 */
function checkSample(s, device, bmap) {
  const check = checkTarget(device, bmap);
  s.target = check.ok ? 'match' : 'mismatch';
  if (!check.ok) {
    s.ok = false;
    s.note = `target check: ${check.badRanges.length} of ${bmap.ranges.length} mapped ranges differ from the bmap checksums`;
  }
}

/**
 * Runs every tool of every format `runs` times. Within a round the tools run one after another, so
 * slow drift of the machine spreads over all of them alike.
 * @param {import('./bench/options.mjs').BenchOptions} opts
 * @param {{ files: Record<string, string>, bmap: string }} images
 * @param {Omit<import('./bench/tools.mjs').ToolEnv, 'image' | 'bmap'>} env
 * @param {import('./bench/tools.mjs').SampleContext} ctx
 */
async function runFormats(opts, images, env, ctx) {
  /** @type {Record<string, Record<string, import('./bench/summary.mjs').ToolResult>>} */
  const byFormat = {};
  for (const format of opts.formats) {
    const image = images.files[format];
    if (!image) continue;
    const tools = toolsFor(format, { ...env, image, bmap: images.bmap }, opts.tools);
    const bmapRanges = readBmapRanges(images.bmap);
    /** @type {Record<string, import('./bench/summary.mjs').Sample[]>} */
    const samples = Object.fromEntries(tools.map((t) => [t.name, []]));
    for (let round = 1; round <= opts.runs; round += 1) {
      for (const tool of tools) {
        if (tool.skip) continue;
        blankDevice(ctx.device);
        const s = await tool.sample(ctx);
        if (tool.writes && s.ok) checkSample(s, ctx.device, bmapRanges);
        samples[tool.name]?.push(s);
        const rss = Number.isFinite(s.rssKiB) ? `${(s.rssKiB / 1024).toFixed(0)} MiB` : '? MiB';
        log(`${format.padEnd(3)} ${tool.name.padEnd(11)} run ${round}/${opts.runs}  ${s.wall.toFixed(2)} s  ${rss}${s.ok ? '' : `  FAILED ${s.note ?? ''}`}`);
      }
    }
    byFormat[format] = {};
    for (const tool of tools) {
      const decoder = samples[tool.name]?.find((x) => x.report)?.report?.decoder;
      const r = summarise(decoder ? `${tool.label} [decoder: ${decoder}]` : tool.label, samples[tool.name] ?? []);
      if (tool.skip) r.skipped = tool.skip;
      byFormat[format][tool.name] = r;
    }
    for (const tool of tools) if (tool.skip && tool.name === 'sureflash') log(`${format}: ${tool.skip}`);
  }
  return byFormat;
}

/**
 * @param {string} workDir
 * @param {Omit<import('./bench/tools.mjs').ToolEnv, 'image' | 'bmap'>} env
 * @param {number} nice
 */
async function runMemoryCase(workDir, env, nice) {
  const img = await ensureMemoryImage(workDir, log);
  const device = await attachLoop(join('/dev/shm', `sureflash-bench-mem-${process.pid}.img`), MEMORY_LOOP_SIZE);
  const ctx = { workDir, device, deviceSize: MEMORY_LOOP_SIZE, nice };
  const toolEnv = { ...env, image: img.image, bmap: img.bmap, sureflashExtra: ['--checksum-retry=3'] };
  /** @type {Record<string, import('./bench/summary.mjs').ToolResult>} */
  const results = {};
  try {
    for (const tool of [bmaptoolTool(toolEnv), sureflashTool(toolEnv)]) {
      if (tool.skip) {
        results[tool.name] = { ...summarise(tool.label, []), skipped: tool.skip };
        log(`memory: ${tool.skip}`);
        continue;
      }
      blankDevice(device);
      const s = await tool.sample(ctx);
      if (s.ok) checkSample(s, device, readBmapRanges(img.bmap));
      log(`memory ${tool.name.padEnd(10)} ${s.wall.toFixed(2)} s  ${(s.rssKiB / 1024).toFixed(0)} MiB${s.ok ? '' : `  FAILED ${s.note ?? ''}`}`);
      results[tool.name] = summarise(tool.label, [s]);
    }
  } finally {
    detachAll();
  }
  const sf = results.sureflash;
  const peakMB = sf?.ok && sf.rssMiB !== null ? (sf.rssMiB * 1024 * 1024) / 1e6 : null;
  return {
    image: { imageSize: img.imageSize, mappedBytes: img.mappedBytes, ranges: 1 },
    results,
    sureflashPeakMB: peakMB,
    goalMB: MEMORY_GOAL_MB,
    verdict: peakMB === null ? 'n/a' : peakMB <= MEMORY_GOAL_MB ? 'PASS' : 'MISS',
  };
}

async function main() {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (error) {
    fail(/** @type {Error} */ (error).message);
    return;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    fail('needs root: it attaches loop devices and drops the page cache. Run it as root (e.g. sudo npm run bench).');
  }
  for (const cmd of ['losetup', 'bmaptool', 'mkfs.ext4', 'xz', 'zstd', 'blkdiscard', 'zip', 'unzip']) {
    if (!have(cmd)) fail(`${cmd} not found: install it (Debian: bmap-tools, e2fsprogs, xz-utils, zstd, util-linux, zip, unzip).`);
  }
  if (opts.tools.includes('dd')) {
    for (const cmd of ['dd', 'bash', 'gzip']) {
      if (!have(cmd)) fail(`${cmd} not found: the dd runs need it (Debian: coreutils, bash, gzip), or leave dd out of --tools.`);
    }
  }
  if (!existsSync('/usr/bin/time')) fail('/usr/bin/time not found: install GNU time (Debian package "time").');
  if (!existsSync('/dev/shm')) fail('/dev/shm is missing: the loop device backing file must live on tmpfs.');
  const cardsMissing = opts.cards ? cardModelMissing() : null;
  if (cardsMissing) fail(`--cards: the card model cannot run: ${cardsMissing}`);

  const workDir = resolve(opts.workDir ?? join(root, 'bench-work'));
  mkdirSync(workDir, { recursive: true });
  if (opts.helper) {
    for (const file of ['engine-worker.cjs', 'device-thread.cjs', 'helper.cjs']) {
      if (!existsSync(join(root, 'dist', 'main', file))) fail(`dist/main/${file} is missing: run \`npm run build\` first.`);
    }
    await runHelperBench(opts, root, workDir, log);
    return;
  }
  const cli = join(root, 'dist', 'main', 'cli.cjs');
  const sureflashCli = existsSync(cli) ? cli : null;

  /** @type {{ dir: string, version: string } | null} */
  let etcher = null;
  let etcherSkip = null;
  if (!opts.cards && opts.tools.includes('etcher') && opts.formats.some((f) => f === 'raw' || f === 'gz')) {
    try {
      etcher = await ensureEtcherSdk(log);
    } catch (error) {
      etcherSkip = /** @type {Error} */ (error).message.split('\n')[0] ?? 'install failed';
      log(`etcher-sdk: ${etcherSkip}`);
    }
  }

  const etcherSdk = opts.cards ? 'not measured (--cards)'
    : etcher?.version ?? (opts.tools.includes('etcher') ? null : 'not measured (not in --tools)');
  const machine = machineFacts({ etcherSdk, sureflash: sureflashCli ? sureflashVersion(sureflashCli) : 'not built yet' });
  process.stdout.write(`Sureflash benchmark  ${new Date().toISOString()}\n${formatMachine(machine)}\n`);
  process.stdout.write(`runs per tool: ${opts.runs} (median), formats: ${opts.formats.join(' ')}, work dir: ${workDir}`
    + `${opts.nice ? `, measured commands at nice ${opts.nice}` : ''}\n`);
  process.stdout.write(opts.cards ? 'page cache dropped before every run; card model blanked before every run\n\n'
    : 'page cache dropped before every run; loop device on /dev/shm, discarded before every run\n\n');
  if (!sureflashCli) process.stdout.write('sureflash: not built yet\n\n');

  if (opts.cards && opts.only === 'fragmented') {
    await runFragmentedBench(opts, { sureflashCli, etcher, etcherSkip }, workDir, log);
    return;
  }
  const images = await ensureImageSet(workDir, log);
  const env = { sureflashCli, etcher, etcherSkip };
  if (opts.cards) {
    await runCardBench(opts, images, env, workDir, log);
    return;
  }

  const device = await attachLoop(join('/dev/shm', `sureflash-bench-${process.pid}.img`), LOOP_SIZE);
  log(`loop device ${device} (2 GiB on /dev/shm)`);
  let byFormat;
  try {
    byFormat = await runFormats(opts, images, env, { workDir, device, deviceSize: LOOP_SIZE, nice: opts.nice });
  } finally {
    detachAll();
  }
  const goals = evaluateGoals(byFormat).filter((g) => opts.formats.includes(g.format));
  const comparisons = evaluateComparisons(byFormat);

  let memory = null;
  const fits = memoryCaseFits(workDir);
  if (opts.memory === true || (opts.memory === null && fits.fits)) {
    if (!fits.fits) log(`memory case forced although it may not fit: ${fits.why}`);
    memory = await runMemoryCase(workDir, env, opts.nice);
  } else {
    log(`memory case skipped: ${opts.memory === false ? 'not asked for' : fits.why}`);
  }

  const mib = (/** @type {number} */ b) => `${(b / 1024 ** 2).toFixed(0)} MiB`;
  process.stdout.write(`\nimage: 2 GiB ext4, ${images.info.fileCount} random files (${mib(images.info.payloadBytes)}), `
    + `${mib(images.info.mappedBytes)} mapped; raw ${mib(images.info.sizes.raw ?? 0)} allocated, gz ${mib(images.info.sizes.gz ?? 0)}, `
    + `zst ${mib(images.info.sizes.zst ?? 0)}, xz ${mib(images.info.sizes.xz ?? 0)}, zip ${mib(images.info.sizes.zip ?? 0)}\n\n`);
  process.stdout.write(`${timingTable(byFormat)}\n\n${goalsTable(goals, comparisons)}\n`);
  if (memory) {
    const sf = memory.results.sureflash;
    const bt = memory.results.bmaptool;
    process.stdout.write(`\nmemory case: 8 GiB image, one 4 GiB mapped range, --checksum-retry=3 -> 8 GiB loop on /dev/shm\n`
      + `  sureflash peak RSS: ${memory.sureflashPeakMB === null ? (sf?.skipped ?? 'failed') : `${memory.sureflashPeakMB.toFixed(0)} MB`}`
      + ` (goal <= ${MEMORY_GOAL_MB} MB) ${memory.verdict}\n`
      + `  bmaptool peak RSS: ${bt?.rssMiB != null ? `${((bt.rssMiB * 1024 * 1024) / 1e6).toFixed(0)} MB in ${bt.wall?.toFixed(2)} s` : 'n/a'}\n`);
  }
  const results = { generatedAt: new Date().toISOString(), loadAverageAtEnd: loadavg().map((v) => Number(v.toFixed(2))), machine, options: opts, image: images.info, byFormat, goals, comparisons, memory,
    notes: {
      cache: 'page cache dropped before every measured run; images read from the work dir; loop device on /dev/shm discarded before every run',
      wall: 'wall seconds around the process (hrtime); etcher-sdk: seconds inside decompressThenFlash (processWall holds the whole process)',
      rss: 'peak RSS from /usr/bin/time %M (KiB in samples, MiB in medians)',
      dd: 'dd writes the whole 2 GiB image (holes as zeros) and reads nothing back; compressed images are piped from the single-threaded system decoder under bash pipefail',
      comparisons: 'sureflash / dd ratios are informational, not goals',
    } };
  const out = join(workDir, 'results.json');
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nresults: ${out}\n`);
}

main().catch((error) => {
  detachAll();
  if (error instanceof Interrupted) process.exit(130);
  if (error instanceof BenchError) fail(error.message, 1);
  process.stderr.write(`bench: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
