// `npm run bench -- --helper`: the elevated path against the in-process path. The same engine worker
// (dist/main/engine-worker.cjs) copies the bench's raw image with its bmap (readback on) to a loop device on
// /dev/shm, once opening the device itself (device thread), once through the privileged helper handing the
// opened drive's descriptor over (the default) and once with the helper serving every batch ('served', what
// runs without the native module) — the helper is dist/main/helper.cjs, started as a plain child the way main's
// launcher would start it, with no password prompt: the bench runs as root. The order rotates per round; the clean page cache is dropped (no global
// sync first: on a machine shared with slow devices a sync can wait for minutes) and the device discarded
// before every run; every run's target is checked against the bmap. Reported: the medians of the
// wall time around the job and of the pipeline time (the report's totalMs less preparingMs: the time after
// every card was opened, so the helper's process start is not in it), and their ratios.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import { BenchError } from './proc.mjs';
import { attachLoop, blankDevice, detachAll } from './loop-device.mjs';
import { ensureRawImage } from './images.mjs';
import { checkTarget, readBmapRanges } from './target-check.mjs';

const LOOP_SIZE = 2 * 1024 ** 3;

/** Drops the clean page cache (the image is read cold by both paths alike); nothing of ours is dirty. */
function dropCleanCaches() {
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
  } catch {
    // not fatal: both paths then read the image warm alike
  }
}

/**
 * The pin main makes for a drive it elevates (src/main/engine/device/device-pin.ts), bundled for this script.
 * @param {string} root
 * @param {string} workDir
 * @returns {Promise<(path: string, mode: 'copy' | 'verify') => Promise<object>>}
 */
async function loadPinDevice(root, workDir) {
  const out = join(workDir, 'device-pin.cjs');
  await build({ absWorkingDir: root, entryPoints: ['src/main/engine/device/device-pin.ts'], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: out, logLevel: 'warning' });
  const mod = /** @type {{ pinDevice: (path: string, mode: 'copy' | 'verify') => Promise<object> }} */ (createRequire(import.meta.url)(out));
  return mod.pinDevice;
}

/**
 * Runs one job in a fresh engine worker, answering 'elevate' by starting the helper as a plain child.
 * @param {string} root
 * @param {object} job
 * @returns {Promise<{ wallMs: number, report: { status: string, cards: { timings: { totalMs: number, preparingMs: number } }[] } }>}
 */
function runJob(root, job) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(join(root, 'dist', 'main', 'engine-worker.cjs'), { resourceLimits: { maxOldGenerationSizeMb: 512 } });
    const t0 = performance.now();
    /** @type {Map<number, any>} */
    const reports = new Map();
    worker.on('message', (/** @type {{ type: string, target?: number, file?: string, report?: any, cards?: ({ target: number } | { report: any })[], error?: { message: string } }} */ m) => {
      if (m.type === 'target-done') reports.set(/** @type {number} */ (m.target), m.report);
      else if (m.type === 'elevate') {
        const uid = String(process.getuid?.() ?? 0);
        const child = spawn(process.execPath, [join(root, 'dist', 'main', 'helper.cjs'), String(m.file), uid], { stdio: ['ignore', 'ignore', 'inherit'] });
        child.on('exit', (code) =>
          worker.postMessage({ type: 'helper-ended', seq: 1, target: m.target, ...(code === 0 ? {} : { error: { kind: 'engine', code: 'ELEVATION_REFUSED', message: `the helper exited with ${code}` } }) }),
        );
      } else if (m.type === 'done') {
        const wallMs = performance.now() - t0;
        void worker.terminate();
        // Each card's report came with its 'target-done' (the batch names it) or in the batch itself.
        const cards = (m.cards ?? []).map((c) => ('report' in c ? c.report : reports.get(c.target)));
        resolve({ wallMs, report: { ...m.report, cards } });
      } else if (m.type === 'error') {
        void worker.terminate();
        reject(new BenchError(`engine: ${m.error?.message}`));
      }
    });
    worker.on('error', reject);
    worker.postMessage({ type: 'start', seq: 1, job });
  });
}

/** @param {number[]} xs */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? /** @type {number} */ (s[mid]) : (/** @type {number} */ (s[mid - 1]) + /** @type {number} */ (s[mid])) / 2;
};

/**
 * @param {{ runs: number }} opts
 * @param {string} root
 * @param {string} workDir
 * @param {(msg: string) => void} log
 */
export async function runHelperBench(opts, root, workDir, log) {
  mkdirSync(workDir, { recursive: true });
  const image = await ensureRawImage(workDir, log);
  const pinDevice = await loadPinDevice(root, workDir);
  const bmapRanges = readBmapRanges(image.bmap);
  const device = await attachLoop(join('/dev/shm', `sureflash-bench-helper-${process.pid}.img`), LOOP_SIZE);
  log(`loop device ${device} (2 GiB on /dev/shm)`);
  /** @typedef {'in-process' | 'helper' | 'helper-served'} Path */
  /** @type {Record<Path, { wallMs: number, pipelineMs: number }[]>} */
  const samples = { 'in-process': [], helper: [], 'helper-served': [] };
  /** @type {Path[]} */
  const paths = ['in-process', 'helper', 'helper-served'];
  try {
    for (let round = 1; round <= opts.runs; round += 1) {
      const order = paths.map((_, i) => /** @type {Path} */ (paths[(i + round - 1) % paths.length]));
      for (const path of order) {
        blankDevice(device);
        const target = path === 'in-process' ? { path: device } : { path: device, elevated: await pinDevice(device, 'copy'), elevatedIo: path === 'helper' ? 'descriptor' : 'served' };
        dropCleanCaches();
        const { wallMs, report } = await runJob(root, { mode: 'copy', image: image.raw, bmapPath: image.bmap, targets: [target], readback: true, verifySource: true, retries: 1, requireBlockDevice: true });
        const card = report.cards[0];
        if (report.status !== 'verified' || !card) throw new BenchError(`${path} run ${round}: the job ended ${report.status}`);
        const check = checkTarget(device, bmapRanges);
        if (!check.ok) throw new BenchError(`${path} run ${round}: ${check.badRanges.length} ranges on the device differ from the bmap`);
        const pipelineMs = card.timings.totalMs - card.timings.preparingMs;
        samples[path].push({ wallMs, pipelineMs });
        log(`${path.padEnd(13)} run ${round}/${opts.runs}  wall ${(wallMs / 1000).toFixed(2)} s  pipeline ${(pipelineMs / 1000).toFixed(2)} s`);
      }
    }
  } finally {
    detachAll();
    rmSync(join(workDir, 'device-pin.cjs'), { force: true });
  }
  const med = (/** @type {Path} */ p, /** @type {'wallMs' | 'pipelineMs'} */ k) => median(samples[p].map((s) => s[k]));
  const result = {
    runs: opts.runs,
    mappedBytes: image.info.mappedBytes,
    inProcess: { wallMs: med('in-process', 'wallMs'), pipelineMs: med('in-process', 'pipelineMs') },
    helper: { wallMs: med('helper', 'wallMs'), pipelineMs: med('helper', 'pipelineMs') },
    ratio: {
      wall: med('helper', 'wallMs') / med('in-process', 'wallMs'),
      pipeline: med('helper', 'pipelineMs') / med('in-process', 'pipelineMs'),
      pipelinePerRound: median(samples.helper.map((s, i) => s.pipelineMs / /** @type {{ pipelineMs: number }} */ (samples['in-process'][i]).pipelineMs)),
    },
    served: { wallMs: med('helper-served', 'wallMs'), pipelineMs: med('helper-served', 'pipelineMs') },
    servedRatio: {
      wall: med('helper-served', 'wallMs') / med('in-process', 'wallMs'),
      pipeline: med('helper-served', 'pipelineMs') / med('in-process', 'pipelineMs'),
    },
    samples,
  };
  const s = (/** @type {number} */ ms) => `${(ms / 1000).toFixed(2)} s`;
  process.stdout.write(`\nelevated path vs in-process: raw 2 GiB ext4 image, ${(image.info.mappedBytes / 1024 ** 2).toFixed(0)} MiB mapped, `
    + `readback on, loop device on /dev/shm, ${opts.runs} rounds (medians)\n`
    + `  in-process (device thread)   wall ${s(result.inProcess.wallMs)}  pipeline ${s(result.inProcess.pipelineMs)}\n`
    + `  helper, drive handed over    wall ${s(result.helper.wallMs)}  pipeline ${s(result.helper.pipelineMs)}\n`
    + `  helper serving every batch   wall ${s(result.served.wallMs)}  pipeline ${s(result.served.pipelineMs)}\n`
    + `  ratio handed over / in-proc  wall ${result.ratio.wall.toFixed(3)}  pipeline ${result.ratio.pipeline.toFixed(3)} `
    + `(median of per-round ratios ${result.ratio.pipelinePerRound.toFixed(3)}; goal <= 1.05)\n`
    + `  ratio served / in-process    wall ${result.servedRatio.wall.toFixed(3)}  pipeline ${result.servedRatio.pipeline.toFixed(3)} (without the native module)\n`);
  const out = join(workDir, 'helper-results.json');
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`results: ${out}\n`);
}
