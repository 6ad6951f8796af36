/**
 * Where a card is heading: retries and write speed over its last flashes, older half against newer half.
 * Pure; shown by `sureflash history` and the GUI next to the health verdict.
 */
import { countsAgainstCard, median, type FlashOutcome } from './health-rules';

export type TrendDirection = 'improving' | 'stable' | 'worsening' | 'unknown';

export interface CardTrend {
  /** Counted flashes the trend looked at. */
  flashes: number;
  retries: TrendDirection;
  speed: TrendDirection;
  /** One line for people, e.g. "retries worsening (0 → 1.5 a flash), speed stable (20.1 → 19.8 MB/s), last 6 flashes". */
  summary: string;
}

/** The thresholds of cardTrend. */
export const TREND_RULES = {
  /** Counted flashes looked at, newest last. */
  window: 6,
  /** Fewest counted flashes for a trend. */
  minFlashes: 2,
  /** The newer half's median speed beyond ±10 % of the older half's is a change. */
  speedChange: 0.1,
} as const;

const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
const usable = (s: number | null): s is number => typeof s === 'number' && Number.isFinite(s) && s > 0;
const round = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));

/**
 * The trend of a card's flashes (oldest first; flashes that do not count against the card are left out).
 * Retries: the newer half's mean above the older half's is worsening, below improving. Speed: the medians
 * of the halves' write speeds, a change beyond TREND_RULES.speedChange.
 */
export function cardTrend(flashes: readonly FlashOutcome[]): CardTrend {
  const counted = flashes.filter(countsAgainstCard).slice(-TREND_RULES.window);
  const n = counted.length;
  if (n < TREND_RULES.minFlashes) {
    return { flashes: n, retries: 'unknown', speed: 'unknown', summary: `not enough flashes for a trend (${n})` };
  }
  const older = counted.slice(0, Math.floor(n / 2));
  const newer = counted.slice(Math.floor(n / 2));

  const r0 = mean(older.map((f) => f.retries));
  const r1 = mean(newer.map((f) => f.retries));
  const retries: TrendDirection = r1 > r0 ? 'worsening' : r1 < r0 ? 'improving' : 'stable';

  const s0 = median(older.map((f) => f.writeSpeed).filter(usable));
  const s1 = median(newer.map((f) => f.writeSpeed).filter(usable));
  let speed: TrendDirection = 'unknown';
  if (s0 !== null && s1 !== null) {
    const ratio = s1 / s0;
    speed = ratio < 1 - TREND_RULES.speedChange ? 'worsening' : ratio > 1 + TREND_RULES.speedChange ? 'improving' : 'stable';
  }
  const speedText = s0 !== null && s1 !== null ? `speed ${speed} (${(s0 / 1e6).toFixed(1)} → ${(s1 / 1e6).toFixed(1)} MB/s)` : 'speed unknown';
  return {
    flashes: n,
    retries,
    speed,
    summary: `retries ${retries} (${round(r0)} → ${round(r1)} a flash), ${speedText}, last ${n} flashes`,
  };
}
