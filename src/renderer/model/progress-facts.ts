/**
 * Progress in words: the phase and what is happening inside it ("Rewriting 3 blocks that did not hold"),
 * and one card's or a whole batch's percent, speeds and time left.
 */
import type { FlashLayout, FlashProgress, Phase } from '../../shared/report';
import type { CardRun } from '../store/job-state';

const PHASE_LABELS: Record<Phase, string> = {
  preparing: 'Preparing',
  probing: "Checking the card's real capacity",
  writing: 'Writing',
  verifying: 'Reading back',
  retrying: 'Rewriting blocks that did not hold',
  'final-check': 'Reading everything back once more after the last flush',
  flushing: 'Flushing to the card',
  done: 'Finishing',
};

/** The phase line of one card. */
export function phaseText(progress: FlashProgress | null, options: { mode: 'copy' | 'verify'; readback: boolean; started: boolean }): string {
  if (!progress) return options.started ? 'Starting' : 'Preparing';
  const activity = progress.activity;
  if (activity?.kind === 'rewriting') return `Rewriting ${activity.blocks} ${activity.blocks === 1 ? 'block' : 'blocks'} that did not hold`;
  if (activity?.kind === 'final-check') return PHASE_LABELS['final-check'];
  if (activity?.kind === 'probing') return PHASE_LABELS.probing;
  if (options.mode === 'verify' && (progress.phase === 'writing' || progress.phase === 'verifying')) return 'Reading the card and comparing';
  // Each window is read back right after it is written: say so while it happens.
  if (progress.phase === 'writing' && options.readback) return 'Writing and reading back';
  return PHASE_LABELS[progress.phase];
}

const SHORT_LABELS: Record<Phase, string> = {
  preparing: 'Preparing',
  probing: 'Capacity check',
  writing: 'Writing',
  verifying: 'Reading back',
  retrying: 'Rewriting',
  'final-check': 'Final check',
  flushing: 'Flushing',
  done: 'Finishing',
};

/** A card tile's phase, in two or three words: "Rewriting 3 blocks", "Final check". */
export function shortPhaseText(progress: FlashProgress | null, mode: 'copy' | 'verify'): string {
  if (!progress) return 'Preparing';
  const activity = progress.activity;
  if (activity?.kind === 'rewriting') return `Rewriting ${activity.blocks} ${activity.blocks === 1 ? 'block' : 'blocks'}`;
  if (activity?.kind === 'final-check') return SHORT_LABELS['final-check'];
  if (activity?.kind === 'probing') return SHORT_LABELS.probing;
  if (mode === 'verify' && (progress.phase === 'writing' || progress.phase === 'verifying')) return 'Comparing';
  return SHORT_LABELS[progress.phase];
}

/** True while the card is redoing work that did not hold (the phase line turns to the retry colour). */
export const isRetrying = (progress: FlashProgress | null): boolean => progress?.activity?.kind === 'rewriting' || progress?.phase === 'retrying';

export interface Totals {
  percent: number;
  bytesDone: number;
  bytesTotal: number;
  speed: number;
  etaSeconds: number | null;
  retries: number;
  download: { bytes: number; speed: number } | null;
}

const cardTotal = (card: CardRun, layout: FlashLayout | null): number => card.progress?.bytesTotal ?? layout?.mappedBytes ?? 0;

/** One card's figures; a finished card counts as whole. */
export function cardTotals(card: CardRun, layout: FlashLayout | null): Totals {
  return batchTotals([card], layout);
}

/** The figures of every card together: bytes and speeds add up, the time left is the slowest card's. */
export function batchTotals(cards: readonly CardRun[], layout: FlashLayout | null): Totals {
  let bytesDone = 0;
  let bytesTotal = 0;
  let speed = 0;
  let eta: number | null = null;
  let retries = 0;
  let download = null as Totals['download'];
  for (const card of cards) {
    const total = cardTotal(card, layout);
    bytesTotal += total;
    retries += card.report?.totals.retries ?? card.progress?.retries ?? 0;
    if (card.report) {
      bytesDone += total;
      continue;
    }
    const p = card.progress;
    if (!p) continue;
    bytesDone += Math.min(p.bytesDone, total);
    speed += p.speed > 0 ? p.speed : 0;
    if (p.etaSeconds !== null) eta = Math.max(eta ?? 0, p.etaSeconds);
    const got = p.download;
    if (got) download = { bytes: Math.max(download?.bytes ?? 0, got.bytes), speed: Math.max(download?.speed ?? 0, got.speed) };
  }
  const percent = bytesTotal > 0 ? Math.min(100, Math.floor((bytesDone / bytesTotal) * 100)) : 0;
  return { percent, bytesDone, bytesTotal, speed, etaSeconds: eta, retries, download };
}

/** The phase line of a batch: how many cards are still at work and how the others ended ("3 writing, 1 failed"). */
export function batchPhaseText(cards: readonly CardRun[], mode: 'copy' | 'verify'): string {
  const running = cards.filter((c) => c.report === null).length;
  const ended: Record<string, number> = {};
  for (const card of cards) if (card.report) ended[card.report.status] = (ended[card.report.status] ?? 0) + 1;
  const words: [string, string][] = [
    ['verified', 'verified'],
    ['written-unverified', 'written'],
    ['failed', 'failed'],
    ['cancelled', 'stopped'],
  ];
  const parts = [`${running} of ${cards.length} cards ${mode === 'verify' ? 'being checked' : 'writing'}`];
  for (const [status, word] of words) if (ended[status]) parts.push(`${ended[status]} ${word}`);
  return parts.join(', ');
}
