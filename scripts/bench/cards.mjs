// `npm run bench -- --cards`: the tools on the card model (card-model.mjs) against the card's own floor,
// measured with dd. On tmpfs a loop device is CPU-bound and says nothing about cards; on the model the
// question is how close a tool comes to what the card allows.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busDelta, CARD_SPEEDS, ddFloorTool, startCardModel } from './card-model.mjs';
import { bmaptoolTool, ddTool, sureflashTool } from './tools.mjs';
import { evaluateComparisons, evaluateGoals, formatTable, goalsTable, median, summarise, timingTable } from './summary.mjs';
import { checkTarget, readBmapRanges } from './target-check.mjs';

/** Goals on the card model (the brief's numbers): numerator / denominator at most `max`. */
export const CARD_GOALS = [
  { format: 'raw', numerator: 'sureflash', denominator: 'dd floor', max: 1.05 },
  { format: 'xz', numerator: 'sureflash', denominator: 'dd floor', max: 1.05 },
];

/** The others on the same card, for information. */
const CARD_COMPARISONS = [
  { format: 'raw', numerator: 'bmaptool', denominator: 'dd floor' },
  { format: 'raw', numerator: 'dd', denominator: 'dd floor' },
];

/**
 * Card-model goals not measured yet: each waits for a feature. When one lands, add its runs to
 * cardRuns() below (e.g. a sureflash copy to four card models at once, or a --skip-identical re-flash
 * of a card that already holds the image) and move its goal into CARD_GOALS.
 */
export const CARD_GOALS_LATER = [
  { ratio: '4 cards at once / 1 card (.xz)', goal: '<= 1.10', needs: 'copy to several cards' },
  { ratio: 're-flash --skip-identical / full flash, 0 writes', goal: '<= 0.30', needs: '--skip-identical' },
  { ratio: 'peak RSS with 4 cards', goal: '<= 200 MB', needs: 'copy to several cards' },
];

/**
 * What runs in each round, in order: the floor first, dd (the whole image at write speed) last.
 * @param {import('./options.mjs').BenchOptions} opts
 * @param {import('./images.mjs').ImageSet} images
 * @param {Omit<import('./tools.mjs').ToolEnv, 'image' | 'bmap'>} env
 * @returns {{ format: string, tool: import('./tools.mjs').ToolSpec }[]}
 */
function cardRuns(opts, images, env) {
  const raw = { ...env, image: images.files.raw, bmap: images.bmap };
  const xz = { ...env, image: images.files.xz, bmap: images.bmap };
  const runs = [{ format: 'raw', tool: ddFloorTool(images.info.mappedBytes) }];
  if (opts.formats.includes('raw')) runs.push({ format: 'raw', tool: bmaptoolTool(raw) }, { format: 'raw', tool: sureflashTool(raw) });
  if (opts.formats.includes('xz')) runs.push({ format: 'xz', tool: sureflashTool(xz) });
  if (opts.formats.includes('raw')) runs.push({ format: 'raw', tool: ddTool('raw', raw) });
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
  const card = await startCardModel({ size: images.info.imageSize, speeds });
  const bmapRanges = readBmapRanges(images.bmap);
  const runs = cardRuns(opts, images, env);
  /** @type {Record<string, import('./summary.mjs').Sample[]>} */
  const samples = Object.fromEntries(runs.map((r) => [key(r.format, r.tool.name), []]));
  log(`card model ${card.device}: ${speeds.writeMBps} MB/s write, ${speeds.readMBps} MB/s read, one command at a time, media on /dev/shm`);
  try {
    const ctx = { workDir, device: card.device, deviceSize: card.size, nice: opts.nice };
    for (let round = 1; round <= opts.runs; round += 1) {
      for (const { format, tool } of runs) {
        if (tool.skip) continue;
        card.blank();
        const before = card.bus();
        const s = await tool.sample(ctx);
        s.card = busDelta(before, card.bus());
        if (tool.writes && s.ok) {
          // The media itself, not the card's answers: the backing file holds what the card stores.
          const check = checkTarget(card.backing, bmapRanges);
          s.target = check.ok ? 'match' : 'mismatch';
          if (!check.ok) Object.assign(s, { ok: false, note: `media check: ${check.badRanges.length} mapped ranges differ from the bmap` });
        }
        samples[key(format, tool.name)]?.push(s);
        log(`card ${format.padEnd(3)} ${tool.name.padEnd(9)} run ${round}/${opts.runs}  ${s.wall.toFixed(2)} s  bus idle ${s.card.idleSeconds.toFixed(2)} s`
          + `${s.ok ? '' : `  FAILED ${s.note ?? ''}`}`);
      }
    }
  } finally {
    card.stop();
  }

  /** @type {Record<string, Record<string, import('./summary.mjs').ToolResult>>} */
  const byFormat = { raw: {}, xz: {} };
  for (const { format, tool } of runs) {
    const r = summarise(tool.label, samples[key(format, tool.name)] ?? []);
    if (tool.skip) r.skipped = tool.skip;
    (byFormat[format] ??= {})[tool.name] = r;
  }
  // Both formats are held to the same floor: the card's time for the mapped data (printed once).
  const measured = { raw: { ...byFormat.raw }, xz: { ...byFormat.xz } };
  const floor = byFormat.raw?.['dd floor'];
  if (floor && byFormat.xz && Object.keys(byFormat.xz).length > 0) byFormat.xz['dd floor'] = floor;
  const goals = evaluateGoals(byFormat, CARD_GOALS);
  const comparisons = evaluateComparisons(byFormat, CARD_COMPARISONS);

  const parts = (floor?.samples ?? []).filter((s) => s.ok && s.floor).map((s) => /** @type {NonNullable<typeof s.floor>} */ (s.floor));
  const mib = (images.info.mappedBytes / 1024 ** 2).toFixed(0);
  const floorLine = parts.length === 0 ? 'dd floor: not measured'
    : `dd floor (${mib} MiB mapped): write ${median(parts.map((p) => p.writeSeconds))?.toFixed(2)} s = ${median(parts.map((p) => p.writeMBps))?.toFixed(1)} MB/s`
      + ` + O_DIRECT read ${median(parts.map((p) => p.readSeconds))?.toFixed(2)} s = ${median(parts.map((p) => p.readMBps))?.toFixed(1)} MB/s`
      + ` (model ${speeds.writeMBps} / ${speeds.readMBps} MB/s)`;
  process.stdout.write(`\ncard model: ${(images.info.imageSize / 1024 ** 3).toFixed(0)} GiB card, bus ${speeds.writeMBps} MB/s write / ${speeds.readMBps} MB/s read, one command at a time\n`
    + `${floorLine}\n\n${timingTable(measured)}\n\n${busTable(measured)}\n\n${goalsTable(goals, comparisons)}\n\n${laterTable()}\n`);
  const results = { generatedAt: new Date().toISOString(), speeds, image: images.info, byFormat, goals, comparisons, later: CARD_GOALS_LATER };
  const out = join(workDir, 'results-cards.json');
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nresults: ${out}\n`);
  return results;
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

function laterTable() {
  return formatTable([['not measured yet', 'goal', 'waits for'], ...CARD_GOALS_LATER.map((g) => [g.ratio, g.goal, g.needs])]);
}
