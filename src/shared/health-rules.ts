/**
 * Health of a card — Keep, Watch or Retire, with the reasons — from this flash, the card's past flashes
 * and the batch it was flashed in. Pure rules; the thresholds are HEALTH_RULES and the README's "Health
 * rules" table. Only flashes whose outcome says something about the card count (see countsAgainstCard):
 * a bad image, a cancel, a refused password or a pulled card never count against it.
 */
import type { BlockSpan, FlashStatus } from './report';

export type HealthVerdict = 'keep' | 'watch' | 'retire';

export type HealthReasonCode =
  | 'BAD_BLOCKS'
  | 'BAD_BLOCKS_BEFORE'
  | 'CAPACITY_FAKE'
  | 'CAPACITY_FAKE_BEFORE'
  | 'WRITE_ERROR'
  | 'RETRIES'
  | 'RETRIES_RECURRING'
  | 'SLOW_VS_OWN'
  | 'SLOW_VS_BATCH'
  | 'NOT_COUNTED'
  | 'NO_EVIDENCE';

export interface HealthReason {
  code: HealthReasonCode;
  message: string;
  /** The verdict this reason alone leads to ("keep" for notes that change nothing). */
  verdict: HealthVerdict;
}

export interface HealthAssessment {
  verdict: HealthVerdict;
  /** Worst first; empty for a clean Keep. */
  reasons: HealthReason[];
}

/** Result of the capacity probe (a card that wraps addresses claims more than it holds). */
export interface CapacityProbe {
  ok: boolean;
  claimedBytes: number;
  /** What the card really holds, when the probe found the wrap. */
  realBytes?: number | null;
}

/** One flash of a card, as the rules need it (the lead maps the flash report onto this; totals over ranges). */
export interface FlashOutcome {
  status: FlashStatus;
  /** The report's error.code when it failed (an ErrorCode; kept a string so new codes need no change here). */
  errorCode: string | null;
  /** Rewrite passes, summed over ranges. */
  retries: number;
  rewrittenBlocks: number;
  /** Blocks that never held after all retries. */
  badBlocks: number;
  /** Blocks not written because the card already held them (--skip-identical). */
  skippedBlocks: number;
  probe: CapacityProbe | null;
  /** Mapped bytes per second over the whole flash (kept for the records; no rule uses it). */
  averageSpeed: number | null;
  /**
   * Bytes per second while writing. Null when too little was written to measure it (a --skip-identical
   * flash that wrote a few blocks): such a flash then takes no part in the speed rules.
   */
  writeSpeed: number | null;
}

/** Other cards flashed in the same batch. */
export interface BatchContext {
  /** Write speeds (bytes/s) of the batch's other cards that wrote; this card's own is not among them. */
  writeSpeeds: readonly number[];
}

/** The thresholds (documented in the README's "Health rules" table). */
export const HEALTH_RULES = {
  /** Flashes looked at for recurring trouble: this one and the ones before it. */
  recentFlashes: 5,
  /** Troubled flashes (retries or a write error) among the recent ones that make trouble "recurring". */
  recurringTrouble: 2,
  /** Past flashes whose write speeds make the card's own median. */
  speedHistory: 10,
  /** Fewest past speeds before the card's own median is trusted. */
  minSpeedHistory: 3,
  /** Fewest other cards in a batch before its median is trusted. */
  minBatchOthers: 2,
  /** Slower than this fraction of a median is "far below" it. */
  slowRatio: 0.5,
} as const;

/** Error codes that are the card's fault. Everything else (source, bmap, cancel, permission, a pulled card) is not. */
export const CARD_FAULT_CODES: readonly string[] = ['READBACK_MISMATCH', 'WRITE_FAILED'];

/** True when a flash tells something about the card (see the module comment). */
export function countsAgainstCard(flash: FlashOutcome): boolean {
  if (flash.probe?.ok === false || flash.badBlocks > 0) return true;
  if (flash.status === 'verified' || flash.status === 'written-unverified') return true;
  return flash.status === 'failed' && flash.errorCode !== null && CARD_FAULT_CODES.includes(flash.errorCode);
}

const troubled = (flash: FlashOutcome): boolean => flash.retries > 0 || flash.errorCode === 'WRITE_FAILED';
const usableSpeed = (speed: number | null | undefined): speed is number => typeof speed === 'number' && Number.isFinite(speed) && speed > 0;

/** Median of the values (mean of the middle two for an even count); null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? null) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const mbps = (speed: number): string => `${(speed / 1e6).toFixed(1)} MB/s`;
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const RANK: Record<HealthVerdict, number> = { keep: 0, watch: 1, retire: 2 };

/**
 * Assesses a card. `history`: the card's earlier flashes, oldest first (this flash not among them).
 * When this flash does not count, the verdict comes from the latest flash that did (batch speeds then
 * play no part), with a NOT_COUNTED note.
 */
export function assessHealth(thisFlash: FlashOutcome, history: readonly FlashOutcome[], batch: BatchContext | null = null): HealthAssessment {
  const reasons: HealthReason[] = [];
  const add = (verdict: HealthVerdict, code: HealthReasonCode, message: string): void => {
    reasons.push({ verdict, code, message });
  };
  const counts = countsAgainstCard(thisFlash);
  if (!counts) {
    const why = thisFlash.status === 'cancelled' ? 'it was cancelled' : `it failed for a reason that is not the card (${thisFlash.errorCode ?? thisFlash.status})`;
    add('keep', 'NOT_COUNTED', `This flash does not count against the card: ${why}.`);
  }
  const evidence = [...history.filter(countsAgainstCard), ...(counts ? [thisFlash] : [])];
  const latest = evidence[evidence.length - 1];
  if (!latest) {
    add('keep', 'NO_EVIDENCE', 'No completed flash of this card yet.');
    return { verdict: 'keep', reasons };
  }
  const earlier = evidence.slice(0, -1);

  if (latest.badBlocks > 0) add('retire', 'BAD_BLOCKS', `${plural(latest.badBlocks, 'block')} did not hold data after all retries.`);
  else if (earlier.some((f) => f.badBlocks > 0)) add('retire', 'BAD_BLOCKS_BEFORE', 'Blocks of this card failed to hold data in an earlier flash.');

  if (latest.probe?.ok === false) {
    const real = latest.probe.realBytes ? `, it holds only about ${(latest.probe.realBytes / 1e9).toFixed(1)} GB` : '';
    add('retire', 'CAPACITY_FAKE', `The card claims ${(latest.probe.claimedBytes / 1e9).toFixed(1)} GB but fails the capacity probe${real}: counterfeit.`);
  } else if (earlier.some((f) => f.probe?.ok === false)) {
    add('retire', 'CAPACITY_FAKE_BEFORE', 'The card failed the capacity probe in an earlier flash: counterfeit.');
  }

  const recent = evidence.slice(-HEALTH_RULES.recentFlashes);
  const troubledRecent = recent.filter(troubled).length;
  if (troubledRecent >= HEALTH_RULES.recurringTrouble) {
    add('retire', 'RETRIES_RECURRING', `Retries or write errors in ${troubledRecent} of its last ${recent.length} flashes.`);
  }
  if (latest.errorCode === 'WRITE_FAILED') add('watch', 'WRITE_ERROR', 'The card reported a write error.');
  if (latest.retries > 0) {
    const passes = `${latest.retries} retry pass${latest.retries === 1 ? '' : 'es'}`;
    // On a flash whose blocks never held, the retries did not make the data hold: say what they were.
    const outcome = latest.badBlocks > 0 ? 'and some blocks still did not hold' : 'before the data held';
    add('watch', 'RETRIES', `Needed ${passes} (${plural(latest.rewrittenBlocks, 'block')} rewritten) ${outcome}.`);
  }

  if (usableSpeed(latest.writeSpeed)) {
    const own = median(earlier.slice(-HEALTH_RULES.speedHistory).map((f) => f.writeSpeed).filter(usableSpeed));
    const samples = earlier.slice(-HEALTH_RULES.speedHistory).filter((f) => usableSpeed(f.writeSpeed)).length;
    if (own !== null && samples >= HEALTH_RULES.minSpeedHistory && latest.writeSpeed < own * HEALTH_RULES.slowRatio) {
      add('watch', 'SLOW_VS_OWN', `Wrote at ${mbps(latest.writeSpeed)}, under half its usual ${mbps(own)}.`);
    }
    const others = counts && batch ? batch.writeSpeeds.filter(usableSpeed) : [];
    const batchMedian = median(others);
    if (batchMedian !== null && others.length >= HEALTH_RULES.minBatchOthers && latest.writeSpeed < batchMedian * HEALTH_RULES.slowRatio) {
      add('watch', 'SLOW_VS_BATCH', `Wrote at ${mbps(latest.writeSpeed)}, under half the batch's ${mbps(batchMedian)}.`);
    }
  }

  reasons.sort((a, b) => RANK[b.verdict] - RANK[a.verdict]);
  const verdict = reasons.reduce<HealthVerdict>((worst, r) => (RANK[r.verdict] > RANK[worst] ? r.verdict : worst), 'keep');
  return { verdict, reasons };
}

/** A range of the flash report, as far as the health totals need it. */
export interface RangeCounts {
  retries: number;
  rewrittenBlocks: number;
  /** The report's spans of blocks that never held, or their count. */
  badBlocks?: readonly BlockSpan[] | number;
  skippedBlocks?: number;
}

/** Sums per-range counts into FlashOutcome's totals (retries, rewritten, bad and skipped blocks). */
export function sumRanges(ranges: readonly RangeCounts[]): Pick<FlashOutcome, 'retries' | 'rewrittenBlocks' | 'badBlocks' | 'skippedBlocks'> {
  let retries = 0;
  let rewrittenBlocks = 0;
  let badBlocks = 0;
  let skippedBlocks = 0;
  for (const range of ranges) {
    retries += range.retries;
    rewrittenBlocks += range.rewrittenBlocks;
    skippedBlocks += range.skippedBlocks ?? 0;
    const bad = range.badBlocks;
    badBlocks += typeof bad === 'number' ? bad : (bad ?? []).reduce((n, span) => n + span.last - span.first + 1, 0);
  }
  return { retries, rewrittenBlocks, badBlocks, skippedBlocks };
}
