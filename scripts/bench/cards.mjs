// `npm run bench -- --cards`: the tools on the card model (card-model.mjs) against the card's own floor,
// measured with dd. On tmpfs a loop device is CPU-bound and says nothing about cards; on the model the
// question is how close a tool comes to what the card allows. Also, from the same run: four cards at once,
// a --skip-identical re-flash (of a card that holds the image, and of a blank one), and the many-ranges case
// (a bmap of 50,000 small ranges) on a /dev/shm loop device against bmaptool.
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { busDelta, CARD_SPEEDS, ddFloorTool, startCardModel } from './card-model.mjs';
import { ensureFragmentedImage, FRAGMENTED_RANGES } from './fragmented-image.mjs';
import { attachLoop, blankDevice, detachAll } from './loop-device.mjs';
import { run } from './proc.mjs';
import { bmaptoolTool, ddTool, sureflashTool } from './tools.mjs';
import { evaluateComparisons, evaluateGoals, formatTable, goalsTable, median, summarise, timingTable } from './summary.mjs';
import { checkTarget, readBmapRanges } from './target-check.mjs';

/** The many-ranges case's name in the tables. */
const FRAG = '50k ranges';

/** Goals on the card model (the brief's numbers): numerator / denominator at most `max`. */
export const CARD_GOALS = [
  { format: 'raw', numerator: 'sureflash', denominator: 'dd floor', max: 1.05 },
  { format: 'xz', numerator: 'sureflash', denominator: 'dd floor', max: 1.05 },
  { format: 'xz', numerator: '4 cards', denominator: 'sureflash', max: 1.10 },
  { format: 'raw', numerator: 'skip, holds image', denominator: 'sureflash', max: 0.30 },
  { format: FRAG, numerator: 'sureflash', denominator: 'bmaptool', max: 1.0 },
];

/** The others on the same card, for information; and what --skip-identical costs on a card that differs everywhere. */
const CARD_COMPARISONS = [
  { format: 'raw', numerator: 'bmaptool', denominator: 'dd floor' },
  { format: 'raw', numerator: 'dd', denominator: 'dd floor' },
  { format: 'raw', numerator: 'skip, blank card', denominator: 'sureflash' },
  { format: 'raw', numerator: '4 cards', denominator: 'sureflash' },
];

/**
 * Peak RSS goals in MB (10^6 bytes): one card 150, four cards 200 (150 + at most 16 per extra card). Taken
 * from the raw runs: for .xz, GNU time's figure is the larger of Sureflash and its `xz -T0` child.
 */
export const CARD_MEMORY_GOALS = [
  { format: 'raw', tool: 'sureflash', what: 'peak RSS, 1 card (raw)', maxMB: 150 },
  { format: 'raw', tool: '4 cards', what: 'peak RSS, 4 cards at once (raw)', maxMB: 200 },
  { format: FRAG, tool: 'sureflash', what: `peak RSS, ${FRAGMENTED_RANGES.toLocaleString('en')} ranges`, maxMB: 150 },
];

/**
 * @typedef {object} CardRun
 * @property {string} format
 * @property {import('./tools.mjs').ToolSpec} tool
 * @property {'blank' | 'keep' | 'blank-all'} before  blank the card first; keep what the previous run wrote; blank all four
 */

/**
 * @param {import('./tools.mjs').ToolSpec} tool
 * @param {string} name
 * @param {string} label
 * @returns {import('./tools.mjs').ToolSpec}
 */
const renamed = (tool, name, label) => ({ ...tool, name, label });

/**
 * What runs in each round, in order: the floor first, dd (the whole image at write speed) last. The
 * skip-identical re-flash follows the full sureflash flash, on the card that flash left holding the image.
 * @param {import('./options.mjs').BenchOptions} opts
 * @param {import('./images.mjs').ImageSet} images
 * @param {Omit<import('./tools.mjs').ToolEnv, 'image' | 'bmap'>} env
 * @param {boolean} fourCards  whether the three extra card models are there
 * @returns {CardRun[]}
 */
function cardRuns(opts, images, env, fourCards) {
  const raw = { ...env, image: images.files.raw, bmap: images.bmap };
  const xz = { ...env, image: images.files.xz, bmap: images.bmap };
  const skip = { ...raw, sureflashExtra: ['--skip-identical'] };
  /** @type {CardRun[]} */
  const runs = [{ format: 'raw', tool: ddFloorTool(images.info.mappedBytes), before: 'blank' }];
  if (opts.formats.includes('raw')) {
    runs.push({ format: 'raw', tool: bmaptoolTool(raw), before: 'blank' }, { format: 'raw', tool: sureflashTool(raw), before: 'blank' });
    runs.push({ format: 'raw', tool: renamed(sureflashTool(skip), 'skip, holds image', 'sureflash copy --skip-identical, the card holding the image (the previous run\'s)'), before: 'keep' });
    runs.push({ format: 'raw', tool: renamed(sureflashTool(skip), 'skip, blank card', 'sureflash copy --skip-identical to a blank card (differs everywhere)'), before: 'blank' });
    if (fourCards) runs.push({ format: 'raw', tool: renamed(sureflashTool(raw), '4 cards', 'sureflash copy IMAGE LOOP1 LOOP2 LOOP3 LOOP4 (four card models)'), before: 'blank-all' });
  }
  if (opts.formats.includes('xz')) {
    runs.push({ format: 'xz', tool: sureflashTool(xz), before: 'blank' });
    if (fourCards) runs.push({ format: 'xz', tool: renamed(sureflashTool(xz), '4 cards', 'sureflash copy IMAGE.xz LOOP1 LOOP2 LOOP3 LOOP4 (four card models)'), before: 'blank-all' });
  }
  if (opts.formats.includes('raw')) runs.push({ format: 'raw', tool: ddTool('raw', raw), before: 'blank' });
  return runs.filter((r) => r.tool.group === 'floor' || opts.tools.includes(r.tool.group));
}

/**
 * @param {string} format
 * @param {string} name
 */
const key = (format, name) => `${format}/${name}`;

/**
 * Runs the card bench and prints it. Returns what goes into results-cards.json.
 * @param {import('./options.mjs').BenchOptions} opts
 * @param {import('./images.mjs').ImageSet} images
 * @param {Omit<import('./tools.mjs').ToolEnv, 'image' | 'bmap'>} env
 * @param {string} workDir
 * @param {(msg: string) => void} log
 */
export async function runCardBench(opts, images, env, workDir, log) {
  const speeds = opts.cardSpeeds ?? CARD_SPEEDS;
  const loadAtStart = loadavg().map((v) => Number(v.toFixed(2)));
  const card = await startCardModel({ size: images.info.imageSize, speeds });
  const wantFour = opts.tools.includes('sureflash') && (opts.formats.includes('xz') || opts.formats.includes('raw'));
  /** @type {import('./card-model.mjs').CardModel[]} */
  const extra = [];
  const bmapRanges = readBmapRanges(images.bmap);
  /** @type {Record<string, import('./summary.mjs').Sample[]>} */
  const samples = {};
  /** @type {CardRun[]} */
  const runs = [];
  log(`card model ${card.device}: ${speeds.writeMBps} MB/s write, ${speeds.readMBps} MB/s read, one command at a time, media on /dev/shm`);
  try {
    if (wantFour) for (let i = 0; i < 3; i += 1) extra.push(await startCardModel({ size: images.info.imageSize, speeds }));
    if (extra.length > 0) log(`three more card models for the four-card run: ${extra.map((c) => c.device).join(' ')}`);
    runs.push(...cardRuns(opts, images, env, extra.length === 3));
    for (const r of runs) samples[key(r.format, r.tool.name)] = [];
    const ctx = { workDir, device: card.device, deviceSize: card.size, nice: opts.nice };
    for (let round = 1; round <= opts.runs; round += 1) {
      for (const { format, tool, before } of runs) {
        if (tool.skip) continue;
        const cards = before === 'blank-all' ? [card, ...extra] : [card];
        if (before !== 'keep') for (const c of cards) c.blank();
        const busBefore = card.bus();
        const writtenBefore = card.bytesWritten();
        const s = await tool.sample(before === 'blank-all' ? { ...ctx, devices: cards.map((c) => c.device) } : ctx);
        s.card = busDelta(busBefore, card.bus());
        s.cardWrites = card.bytesWritten() - writtenBefore;
        if (tool.writes && s.ok) {
          // The media itself, not the card's answers: the backing file holds what the card stores.
          const bad = cards.map((c) => checkTarget(c.backing, bmapRanges)).filter((check) => !check.ok);
          s.target = bad.length === 0 ? 'match' : 'mismatch';
          if (bad.length > 0) Object.assign(s, { ok: false, note: `media check: ${bad.length} card(s) with mapped ranges that differ from the bmap` });
        }
        samples[key(format, tool.name)]?.push(s);
        const rss = Number.isFinite(s.rssKiB) ? `  ${(s.rssKiB / 1024).toFixed(0)} MiB` : '';
        log(`card ${format.padEnd(3)} ${tool.name.padEnd(17)} run ${round}/${opts.runs}  ${s.wall.toFixed(2)} s${rss}  bus idle ${s.card.idleSeconds.toFixed(2)} s`
          + `  written ${(s.cardWrites / 1e6).toFixed(1)} MB${s.ok ? '' : `  FAILED ${s.note ?? ''}`}`);
      }
    }
  } finally {
    card.stop();
    for (const c of extra) c.stop();
  }

  /** @type {Record<string, Record<string, import('./summary.mjs').ToolResult>>} */
  const byFormat = { raw: {}, xz: {} };
  for (const { format, tool } of runs) {
    const r = summarise(tool.label, samples[key(format, tool.name)] ?? []);
    if (tool.skip) r.skipped = tool.skip;
    (byFormat[format] ??= {})[tool.name] = r;
  }
  const fragmented = opts.tools.includes('sureflash') && opts.tools.includes('bmaptool') ? await runFragmented(opts, env, workDir, log) : null;
  if (fragmented) byFormat[FRAG] = fragmented.results;

  // Both formats are held to the same floor: the card's time for the mapped data (printed once).
  const measured = Object.fromEntries(Object.entries(byFormat).map(([f, tools]) => [f, { ...tools }]));
  const floor = byFormat.raw?.['dd floor'];
  if (floor && byFormat.xz && Object.keys(byFormat.xz).length > 0) byFormat.xz['dd floor'] = floor;
  const goals = evaluateGoals(byFormat, CARD_GOALS);
  const comparisons = evaluateComparisons(byFormat, CARD_COMPARISONS);
  const limits = evaluateLimits(byFormat);

  const parts = (floor?.samples ?? []).filter((s) => s.ok && s.floor).map((s) => /** @type {NonNullable<typeof s.floor>} */ (s.floor));
  const mib = (images.info.mappedBytes / 1024 ** 2).toFixed(0);
  const floorLine = parts.length === 0 ? 'dd floor: not measured'
    : `dd floor (${mib} MiB mapped): write ${median(parts.map((p) => p.writeSeconds))?.toFixed(2)} s = ${median(parts.map((p) => p.writeMBps))?.toFixed(1)} MB/s`
      + ` + O_DIRECT read ${median(parts.map((p) => p.readSeconds))?.toFixed(2)} s = ${median(parts.map((p) => p.readMBps))?.toFixed(1)} MB/s`
      + ` (model ${speeds.writeMBps} / ${speeds.readMBps} MB/s)`;
  const loadAtEnd = loadavg().map((v) => Number(v.toFixed(2)));
  const fragLine = fragmented ? `\n${FRAG}: ${fragmented.image.ranges.toLocaleString('en')} ranges of 1-4 blocks, ${(fragmented.image.mappedBytes / 1024 ** 2).toFixed(0)} MiB mapped`
    + ` in a ${(fragmented.image.imageSize / 1024 ** 2).toFixed(0)} MiB image, image and loop device on /dev/shm (CPU-bound: the per-range cost)` : '';
  process.stdout.write(`\ncard model: ${(images.info.imageSize / 1024 ** 3).toFixed(0)} GiB card, bus ${speeds.writeMBps} MB/s write / ${speeds.readMBps} MB/s read, one command at a time\n`
    + `${floorLine}${fragLine}\nload average: ${loadAtStart.join(' ')} at the start, ${loadAtEnd.join(' ')} at the end\n\n${timingTable(measured)}\n\n${busTable(measured)}\n\n`
    + `${goalsTable(goals, comparisons)}\n\n${limitsTable(limits)}\n`);
  const results = { generatedAt: new Date().toISOString(), loadAverage: { start: loadAtStart, end: loadAtEnd }, speeds, image: images.info,
    fragmentedImage: fragmented?.image ?? null, byFormat, goals, comparisons, limits };
  const out = join(workDir, 'results-cards.json');
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nresults: ${out}\n`);
  return results;
}

/**
 * `--cards --only fragmented`: the many-ranges case alone (no card model, no 2 GiB image set), with its
 * timing, its goal against bmaptool and its memory limit.
 * @param {import('./options.mjs').BenchOptions} opts
 * @param {Omit<import('./tools.mjs').ToolEnv, 'image' | 'bmap'>} env
 * @param {string} workDir
 * @param {(msg: string) => void} log
 */
export async function runFragmentedBench(opts, env, workDir, log) {
  const loadAtStart = loadavg().map((v) => Number(v.toFixed(2)));
  const fragmented = await runFragmented(opts, env, workDir, log);
  /** @type {Record<string, Record<string, import('./summary.mjs').ToolResult>>} */
  const byFormat = { [FRAG]: fragmented.results };
  const goals = evaluateGoals(byFormat, CARD_GOALS.filter((g) => g.format === FRAG));
  const limits = evaluateLimits(byFormat).filter((l) => l.what.includes('ranges'));
  const loadAtEnd = loadavg().map((v) => Number(v.toFixed(2)));
  process.stdout.write(`\n${FRAG}: ${fragmented.image.ranges.toLocaleString('en')} ranges of 1-4 blocks, ${(fragmented.image.mappedBytes / 1024 ** 2).toFixed(0)} MiB mapped`
    + ` in a ${(fragmented.image.imageSize / 1024 ** 2).toFixed(0)} MiB image, image and loop device on /dev/shm (CPU-bound: the per-range cost)\n`
    + `load average: ${loadAtStart.join(' ')} at the start, ${loadAtEnd.join(' ')} at the end\n\n${timingTable(byFormat)}\n\n${goalsTable(goals, [])}\n\n${limitsTable(limits)}\n`);
  const results = { generatedAt: new Date().toISOString(), loadAverage: { start: loadAtStart, end: loadAtEnd }, fragmentedImage: fragmented.image, byFormat, goals, limits };
  const out = join(workDir, 'results-fragmented.json');
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nresults: ${out}\n`);
  return results;
}

/**
 * The many-ranges case: bmaptool and sureflash (readback on) copy the fragmented image, both on /dev/shm,
 * to a /dev/shm loop device, `--runs` rounds; every result checked against the bmap.
 * @param {import('./options.mjs').BenchOptions} opts
 * @param {Omit<import('./tools.mjs').ToolEnv, 'image' | 'bmap'>} env
 * @param {string} workDir
 * @param {(msg: string) => void} log
 */
export async function runFragmented(opts, env, workDir, log) {
  const img = await ensureFragmentedImage(workDir, log);
  const image = join('/dev/shm', `sureflash-bench-frag-${process.pid}.img`);
  const bmap = `${image}.bmap`;
  await run('cp', ['--sparse=always', img.image, image]);
  copyFileSync(img.bmap, bmap);
  const device = await attachLoop(join('/dev/shm', `sureflash-bench-frag-loop-${process.pid}.img`), Math.ceil(img.imageSize / 2 ** 20) * 2 ** 20);
  const ranges = readBmapRanges(bmap);
  const toolEnv = { ...env, image, bmap };
  const tools = [bmaptoolTool(toolEnv), sureflashTool(toolEnv)];
  /** @type {Record<string, import('./summary.mjs').Sample[]>} */
  const samples = { bmaptool: [], sureflash: [] };
  try {
    for (let round = 1; round <= opts.runs; round += 1) {
      for (const tool of tools) {
        if (tool.skip) continue;
        blankDevice(device);
        const s = await tool.sample({ workDir, device, deviceSize: img.imageSize, nice: opts.nice });
        if (s.ok) {
          const check = checkTarget(device, ranges);
          s.target = check.ok ? 'match' : 'mismatch';
          if (!check.ok) Object.assign(s, { ok: false, note: `target check: ${check.badRanges.length} ranges differ from the bmap` });
        }
        samples[tool.name]?.push(s);
        log(`${FRAG} ${tool.name.padEnd(9)} run ${round}/${opts.runs}  ${s.wall.toFixed(2)} s  ${(s.rssKiB / 1024).toFixed(0)} MiB${s.ok ? '' : `  FAILED ${s.note ?? ''}`}`);
      }
    }
  } finally {
    detachAll();
    rmSync(image, { force: true });
    rmSync(bmap, { force: true });
  }
  /** @type {Record<string, import('./summary.mjs').ToolResult>} */
  const results = {};
  for (const tool of tools) results[tool.name] = { ...summarise(tool.label, samples[tool.name] ?? []), ...(tool.skip ? { skipped: tool.skip } : {}) };
  return { image: img, results };
}

/**
 * The goals that are not ratios: peak RSS per case, and bytes the card was asked to write during the
 * skip-identical re-flash of a card that holds the image (the goal is none).
 * @param {Record<string, Record<string, import('./summary.mjs').ToolResult>>} byFormat
 */
function evaluateLimits(byFormat) {
  /** @type {{ what: string, value: number | null, unit: string, goal: string, verdict: 'PASS' | 'MISS' | 'n/a' }[]} */
  const out = [];
  for (const g of CARD_MEMORY_GOALS) {
    const r = byFormat[g.format]?.[g.tool];
    const rssKiB = r?.ok ? median(r.samples.map((s) => s.rssKiB).filter((v) => Number.isFinite(v))) : null;
    const mb = rssKiB === null ? null : (rssKiB * 1024) / 1e6;
    out.push({ what: g.what, value: mb, unit: 'MB', goal: `<= ${g.maxMB}`, verdict: mb === null ? 'n/a' : mb <= g.maxMB ? 'PASS' : 'MISS' });
  }
  const skip = byFormat.raw?.['skip, holds image'];
  const writes = skip?.ok ? Math.max(...skip.samples.map((s) => s.cardWrites ?? Number.POSITIVE_INFINITY)) : null;
  out.push({ what: 'bytes written by the skip-identical re-flash', value: writes, unit: 'B', goal: '0', verdict: writes === null ? 'n/a' : writes === 0 ? 'PASS' : 'MISS' });
  return out;
}

/** @param {ReturnType<typeof evaluateLimits>} limits */
function limitsTable(limits) {
  return formatTable([['limit', 'value', 'goal', 'verdict'],
    ...limits.map((l) => [l.what, l.value === null ? '-' : `${l.unit === 'MB' ? l.value.toFixed(0) : l.value} ${l.unit}`, `${l.goal} ${l.unit}`, l.verdict])]);
}

/**
 * Median bus time per tool: busy (scheduled reads + writes) and idle (the tool left the card waiting).
 * @param {Record<string, Record<string, import('./summary.mjs').ToolResult>>} byFormat
 */
function busTable(byFormat) {
  /** @type {(string | number)[][]} */
  const rows = [['format', 'tool', 'bus busy s', 'bus idle s', 'model overrun s']];
  for (const [format, tools] of Object.entries(byFormat)) {
    for (const [name, r] of Object.entries(tools)) {
      const cards = r.samples.filter((s) => s.ok && s.card).map((s) => /** @type {import('./card-model.mjs').CardBus} */ (s.card));
      const med = (/** @type {number[]} */ v) => median(v)?.toFixed(2) ?? '-';
      rows.push([format, name, med(cards.map((c) => c.readSeconds + c.writeSeconds)), med(cards.map((c) => c.idleSeconds)),
        med(cards.map((c) => c.overrunSeconds))]);
    }
  }
  return formatTable(rows);
}
