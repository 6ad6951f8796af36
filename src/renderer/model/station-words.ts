/**
 * A station tile in words that read from across a bench: "Waiting", "Flashing 43 %", "Verified — remove",
 * "Failed — retire"; the card's health (Keep / Watch / Retire) with its reasons; who the card is; and the
 * words of the end-of-session summary and of the drives the station will never touch.
 */
import type { CardIdentity } from '../../shared/card-identity';
import { formatBytes } from '../../shared/format';
import type { HealthAssessment, HealthVerdict } from '../../shared/health-rules';
import type { StationCard, StationRefusal, StationSummary } from '../../shared/station';
import { guiText } from './gui-text';

export type TileTone = 'waiting' | 'busy' | 'good' | 'warn' | 'bad';

export interface TileWords {
  tone: TileTone;
  /** "Waiting", "Flashing 43 %", "Verified", "Failed", … */
  headline: string;
  /** What to do with the card, in one word or two ("remove", "retire", "do not use"); null when nothing. */
  action: string | null;
  /** One line under the headline: the phase while flashing, what went wrong after. */
  detail: string | null;
}

const PHASES: Record<string, string> = {
  preparing: 'Preparing',
  probing: 'Capacity check',
  writing: 'Writing and reading back',
  verifying: 'Reading back',
  retrying: 'Rewriting blocks that did not hold',
  'final-check': 'Final check',
  flushing: 'Flushing',
  done: 'Finishing',
};

/** The words of a tile: its card (null: the slot is empty) while the station is in `state`. */
export function tileWords(card: StationCard | null, options: { taking: boolean; cancelling?: boolean } = { taking: true }): TileWords {
  if (card === null) {
    return { tone: 'waiting', headline: options.taking ? 'Waiting' : 'Empty', action: null, detail: options.taking ? 'Insert a card' : 'The station takes no more cards' };
  }
  const health = card.result?.health?.verdict ?? null;
  const error = card.result?.summary.error ?? null;
  const unsafe = card.result?.summary.unsafeToUse === true;
  switch (card.state) {
    case 'flashing': {
      const percent = Math.max(0, Math.min(100, Math.floor(card.progress?.percent ?? 0)));
      const phase = card.progress ? (PHASES[card.progress.phase] ?? 'Writing') : 'Preparing';
      return { tone: 'busy', headline: `Flashing ${percent} %`, action: null, detail: options.cancelling ? 'Cancelling…' : phase };
    }
    case 'verified':
      return health === 'retire'
        ? { tone: 'bad', headline: 'Verified', action: 'retire', detail: 'It holds the image, but the card is worn out' }
        : { tone: 'good', headline: 'Verified', action: 'remove', detail: health === 'watch' ? 'Holds the image; watch this card' : 'Holds the image' };
    case 'failed':
      return { tone: 'bad', headline: 'Failed', action: health === 'retire' ? 'retire' : 'do not use', detail: error ? guiText(error.message) : 'The card does not hold the image' };
    case 'lost':
      return { tone: 'bad', headline: 'Removed too early', action: 'do not use', detail: 'Taken out while it was flashed: flash it again' };
    case 'cancelled':
      return { tone: 'warn', headline: 'Cancelled', action: unsafe ? 'do not use' : 'remove', detail: unsafe ? 'Partly written: flash it again before use' : 'Nothing was written' };
    case 'written-unverified':
      return { tone: 'warn', headline: 'Written, not checked', action: 'remove', detail: 'Read back was off: nothing proves the card holds the image' };
  }
}

/** "Verified — remove": the headline and the action as one line. */
export const tileLine = (words: TileWords): string => (words.action ? `${words.headline} — ${words.action}` : words.headline);

const HEALTH_NAMES: Record<HealthVerdict, string> = { keep: 'Keep', watch: 'Watch', retire: 'Retire' };

export const healthName = (verdict: HealthVerdict): string => HEALTH_NAMES[verdict];

/** The reasons worth showing: those that lead to the verdict, else the notes. */
export function healthReasons(health: HealthAssessment | null): string[] {
  if (!health) return [];
  const telling = health.reasons.filter((r) => r.verdict !== 'keep');
  return (telling.length > 0 ? telling : health.reasons).map((r) => guiText(r.message));
}

/** The card's name: vendor and model when known, else what main called the drive. */
export function cardName(card: Pick<StationCard, 'description' | 'identity' | 'device'>): string {
  const identity = card.identity;
  const product = [identity?.vendor, identity?.model].filter((part): part is string => Boolean(part && part.trim())).join(' ');
  if (product !== '') return product;
  return card.description.trim() || card.device;
}

/** How the card is identified, in one line: "CID 03534453…", "serial 4C53… (the reader's: names the slot)", "fingerprint only". */
export function identityLine(identity: CardIdentity | null): string {
  if (!identity) return 'Not identified';
  if (identity.cid) return `SD card ${identity.cid.productName || ''} serial ${identity.cid.serial}`.replace(/\s+/g, ' ');
  if (identity.serial) {
    if (identity.serialScope === 'card') return `Serial ${identity.serial}`;
    if (identity.serialScope === 'reader') return `Reader serial ${identity.serial} (names the slot, not the card)`;
    return `Serial ${identity.serial} (of the card or its reader)`;
  }
  if (identity.idSource === 'fingerprint') return 'Known by its content only (no serial)';
  return 'No serial';
}

/** The headline of a finished session. */
export function summaryHeadline(summary: StationSummary): string {
  if (summary.taken === 0) return 'No card was taken';
  if (summary.allVerified) return `All ${summary.taken} ${summary.taken === 1 ? 'card' : 'cards'} verified`;
  return `${summary.verified} of ${summary.taken} ${summary.taken === 1 ? 'card' : 'cards'} verified`;
}

/** The counts of a session, only those that are not zero: "2 failed", "1 removed too early", "1 to retire". */
export function summaryCounts(summary: StationSummary): string[] {
  const parts: [number, string][] = [
    [summary.verified, 'verified'],
    [summary.failed, 'failed'],
    [summary.cancelled, 'cancelled'],
    [summary.writtenUnverified, 'written, not checked'],
    [summary.lost, 'removed too early'],
    [summary.health.watch, 'to watch'],
    [summary.health.retire, 'to retire'],
  ];
  return parts.filter(([n]) => n > 0).map(([n, words]) => `${n} ${words}`);
}

/** A drive the station never touches: "Generic SD card (/dev/sdb, 16 GB)". */
export const refusalLine = (refusal: StationRefusal): string => `${refusal.description || refusal.device} (${refusal.device}, ${formatBytes(refusal.size)})`;
