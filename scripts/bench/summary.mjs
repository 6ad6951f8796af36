// Medians, pairwise ratios against the goals, and the printed table.

/**
 * @typedef {object} Sample
 * @property {boolean} ok
 * @property {number} wall       seconds
 * @property {number} rssKiB
 * @property {string} [note]     why a sample failed
 * @property {'match' | 'mismatch'} [target]  the loop device's mapped ranges against the bmap checksums
 * @property {number} [processWall]  whole-process seconds when `wall` times only the call (etcher-sdk)
 * @property {number} [bytesWritten] bytes the tool says it wrote (etcher-sdk)
 * @property {{ status?: string, decoder?: string, timings?: object, totals?: object, cards?: object[] } | null} [report] Sureflash's report, abridged
 * @property {number} [cardWrites] bytes the card model was asked to write during the sample (its write counter)
 * @property {{ writeSeconds: number, readSeconds: number, writeMBps: number, readMBps: number }} [floor] the card model's dd floor, by part
 * @property {import('./card-model.mjs').CardBus} [card] the card model's bus counters during the sample
 */

/**
 * @typedef {object} ToolResult
 * @property {string} label      what ran, as a reader would type it
 * @property {Sample[]} samples
 * @property {number | null} wall    median seconds over successful samples (null: none succeeded)
 * @property {number | null} rssMiB  median peak RSS in MiB
 * @property {boolean} ok            every sample succeeded
 * @property {string} [skipped]      why the tool did not run for this format
 */

/** Ratio goals from the product brief: numerator / denominator must be at most `max`. */
export const GOALS = [
  { format: 'raw', numerator: 'sureflash', denominator: 'bmaptool', max: 0.6 },
  { format: 'gz', numerator: 'sureflash', denominator: 'bmaptool', max: 0.75 },
  { format: 'zst', numerator: 'sureflash', denominator: 'bmaptool', max: 0.9 },
  { format: 'xz', numerator: 'sureflash', denominator: 'xz -dc', max: 1.1 },
  { format: 'raw', numerator: 'sureflash', denominator: 'etcher-sdk', max: 0.35 },
  { format: 'gz', numerator: 'sureflash', denominator: 'etcher-sdk', max: 0.5 },
];

/**
 * Ratios printed for information beside the goals, without a verdict: Sureflash against plain dd (the whole
 * image written, nothing read back), the command most distributions tell users to run; and the raw source
 * check alone (read + SHA-256 of the mapped ranges, nothing written) against bmaptool's whole copy.
 */
export const COMPARISONS = [
  ...['raw', 'gz', 'zst', 'xz', 'zip'].map((format) => ({ format, numerator: 'sureflash', denominator: 'dd' })),
  // .zip has no goal in the brief; shown beside the others.
  { format: 'zip', numerator: 'sureflash', denominator: 'bmaptool' },
  // How much of bmaptool's whole raw copy the source check alone already takes (the raw goal's floor).
  { format: 'raw', numerator: 'read+sha256', denominator: 'bmaptool' },
];

/** Goal for Sureflash's peak RSS in the memory case, in MB (10^6 bytes). */
export const MEMORY_GOAL_MB = 150;

/** @param {number[]} values */
export function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? /** @type {number} */ (sorted[mid]) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Folds samples into a ToolResult.
 * @param {string} label
 * @param {Sample[]} samples
 * @returns {ToolResult}
 */
export function summarise(label, samples) {
  const good = samples.filter((s) => s.ok);
  const rss = median(good.map((s) => s.rssKiB).filter((v) => Number.isFinite(v)));
  return {
    label,
    samples,
    wall: median(good.map((s) => s.wall)),
    rssMiB: rss === null ? null : rss / 1024,
    ok: samples.length > 0 && good.length === samples.length,
  };
}

/**
 * numerator's median / denominator's median for one format, or null unless both were measured and every
 * sample of the numerator succeeded.
 * @param {Record<string, Record<string, ToolResult>>} byFormat
 * @param {{ format: string, numerator: string, denominator: string }} pair
 */
function ratioOf(byFormat, pair) {
  const num = byFormat[pair.format]?.[pair.numerator];
  const den = byFormat[pair.format]?.[pair.denominator];
  return num?.wall != null && den?.wall != null && den.wall > 0 && num.ok ? num.wall / den.wall : null;
}

/**
 * The median of the per-round ratios: round i of the numerator against round i of the denominator (they
 * ran back to back), over the rounds where both succeeded. Less sensitive than the ratio of medians to a
 * machine whose speed drifts between rounds; null when no round has both.
 * @param {Record<string, Record<string, ToolResult>>} byFormat
 * @param {{ format: string, numerator: string, denominator: string }} pair
 */
function pairedRatioOf(byFormat, pair) {
  const num = byFormat[pair.format]?.[pair.numerator]?.samples ?? [];
  const den = byFormat[pair.format]?.[pair.denominator]?.samples ?? [];
  /** @type {number[]} */
  const ratios = [];
  for (let i = 0; i < Math.min(num.length, den.length); i += 1) {
    const a = num[i];
    const b = den[i];
    if (a?.ok && b?.ok && b.wall > 0) ratios.push(a.wall / b.wall);
  }
  return median(ratios);
}

/**
 * Both ratios of a pair; the paired one only where the ratio of medians exists.
 * @param {Record<string, Record<string, ToolResult>>} byFormat
 * @param {{ format: string, numerator: string, denominator: string }} pair
 */
function ratiosOf(byFormat, pair) {
  const ratio = ratioOf(byFormat, pair);
  return { ratio, paired: ratio === null ? null : pairedRatioOf(byFormat, pair) };
}

/**
 * Evaluates every goal (default: the tmpfs goals) whose two sides were measured.
 * @param {Record<string, Record<string, ToolResult>>} byFormat  format -> tool name -> result
 * @param {{ format: string, numerator: string, denominator: string, max: number }[]} [goals]
 */
export function evaluateGoals(byFormat, goals = GOALS) {
  return goals.map((g) => {
    const { ratio, paired } = ratiosOf(byFormat, g);
    /** @type {'PASS' | 'MISS' | 'n/a'} */
    const verdict = ratio === null ? 'n/a' : ratio <= g.max ? 'PASS' : 'MISS';
    return { ...g, ratio, paired, verdict };
  });
}

/**
 * The informational ratios (default: COMPARISONS) whose denominator was measured.
 * @param {Record<string, Record<string, ToolResult>>} byFormat
 * @param {{ format: string, numerator: string, denominator: string }[]} [comparisons]
 */
export function evaluateComparisons(byFormat, comparisons = COMPARISONS) {
  return comparisons.filter((c) => byFormat[c.format]?.[c.denominator] !== undefined)
    .map((c) => ({ ...c, ...ratiosOf(byFormat, c) }));
}

/**
 * @param {(string | number)[][]} rows  first row is the header
 * @returns {string}
 */
export function formatTable(rows) {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => String(r[c] ?? '').length))) ?? [];
  const line = (/** @type {(string | number)[]} */ r) => r.map((cell, c) => {
    const s = String(cell ?? '');
    return c === 0 ? s.padEnd(widths[c] ?? 0) : s.padStart(widths[c] ?? 0);
  }).join('  ');
  const [head, ...body] = rows;
  return [line(head ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** @param {number | null | undefined} v @param {number} digits */
const fixed = (v, digits) => (v == null || !Number.isFinite(v) ? '-' : v.toFixed(digits));

/**
 * The per-format table: one row per format and tool.
 * @param {Record<string, Record<string, ToolResult>>} byFormat
 */
export function timingTable(byFormat) {
  /** @type {(string | number)[][]} */
  const rows = [['format', 'tool', 'median s', 'min s', 'max s', 'peak RSS MiB', 'runs ok', 'command / note']];
  for (const [format, tools] of Object.entries(byFormat)) {
    for (const [tool, r] of Object.entries(tools)) {
      const walls = r.samples.filter((s) => s.ok).map((s) => s.wall);
      const okCount = `${r.samples.filter((s) => s.ok).length}/${r.samples.length}`;
      const failure = r.samples.find((s) => !s.ok)?.note;
      const note = r.skipped ?? (failure ? `FAILED: ${failure.split('\n')[0]?.slice(0, 80)}` : r.label);
      rows.push([format, tool, fixed(r.wall, 2), walls.length ? fixed(Math.min(...walls), 2) : '-',
        walls.length ? fixed(Math.max(...walls), 2) : '-', fixed(r.rssMiB, 0), r.skipped ? '-' : okCount, note]);
    }
  }
  return formatTable(rows);
}

/**
 * The goal ratios with their verdicts, then the informational ratios (goal "-", verdict "info"). `value` is
 * the ratio of the medians (the verdict's basis); `paired` the median of the per-round ratios.
 * @param {ReturnType<typeof evaluateGoals>} goals
 * @param {ReturnType<typeof evaluateComparisons>} [comparisons]
 */
export function goalsTable(goals, comparisons = []) {
  /** @type {(string | number)[][]} */
  const rows = [['format', 'ratio', 'value', 'paired', 'goal', 'verdict']];
  for (const g of goals) {
    rows.push([g.format, `${g.numerator} / ${g.denominator}`, fixed(g.ratio, 2), fixed(g.paired, 2), `<= ${g.max}`, g.verdict]);
  }
  for (const c of comparisons) {
    rows.push([c.format, `${c.numerator} / ${c.denominator}`, fixed(c.ratio, 2), fixed(c.paired, 2), '-', 'info']);
  }
  return formatTable(rows);
}
