/**
 * What the renderer knows about the station, and the pure reducer that folds the station's events into it:
 * the station's status as main reports it (StationStatus), which finished cards were taken out, the drives
 * that appeared and were not taken, and warnings. `stationSlots` turns it into one tile per slot.
 */
import type { StationCard, StationEvent, StationRefusal, StationStatus } from '../../shared/station';

export interface StationView {
  status: StationStatus;
  /** Numbers of finished cards that were taken out (their slot waits for the next card). */
  removed: number[];
  /** Drives that appeared after arming and were not taken, newest last (a few). */
  refused: StationRefusal[];
  /** Things that went wrong without changing a verdict (a history or log write), newest last (a few). */
  warnings: string[];
}

export const IDLE_STATUS: StationStatus = { state: 'idle', sessionId: null, station: null, options: null, image: null, untouched: [], cards: [], summary: null };

export const emptyStation: StationView = { status: IDLE_STATUS, removed: [], refused: [], warnings: [] };

const MAX_REFUSED = 8;
const MAX_WARNINGS = 5;

/** True while a session runs (cards may be taken or are still finishing). */
export const isStationRunning = (status: StationStatus): boolean => status.state === 'armed' || status.state === 'stopping' || status.state === 'cancelling';

/** Starts from a status main reported (arm's answer, or stationStatus when the page opens). */
export function stationFromStatus(view: StationView, status: StationStatus): StationView {
  // A status of the session the events already built is older than them: keep what they built.
  if (status.sessionId !== null && status.sessionId === view.status.sessionId && view.status.state !== 'idle') return view;
  return { status, removed: [], refused: [], warnings: [] };
}

function withCard(view: StationView, card: number, update: (card: StationCard) => StationCard): StationView {
  const index = view.status.cards.findIndex((c) => c.card === card);
  if (index < 0) return view;
  const cards = view.status.cards.slice();
  cards[index] = update(cards[index] as StationCard);
  return { ...view, status: { ...view.status, cards } };
}

/** Folds one event into the view; events of another session leave it unchanged (a new "armed" starts one). */
export function applyStationEvent(view: StationView, event: StationEvent, now: () => string = () => new Date().toISOString()): StationView {
  if (event.type === 'armed') {
    return {
      status: { state: 'armed', sessionId: event.sessionId, station: event.station, options: event.options, image: event.image, untouched: event.untouched, cards: [], summary: null },
      removed: [],
      refused: [],
      warnings: [],
    };
  }
  if (event.sessionId !== view.status.sessionId) return view;
  switch (event.type) {
    case 'waiting':
      return view;
    case 'card-refused': {
      const others = view.refused.filter((r) => r.device !== event.refusal.device);
      return { ...view, refused: [...others, event.refusal].slice(-MAX_REFUSED) };
    }
    case 'card-taken': {
      if (view.status.cards.some((c) => c.card === event.card)) return view;
      const card: StationCard = {
        card: event.card,
        device: event.device,
        slot: event.slot,
        description: event.description,
        size: event.size,
        identity: event.identity,
        takenAt: now(),
        state: 'flashing',
        progress: null,
        result: null,
      };
      // The card before it in the same slot is gone, whether or not its removal was seen.
      const key = slotKey(card);
      const replaced = view.status.cards.filter((c) => c.state !== 'flashing' && slotKey(c) === key && !view.removed.includes(c.card)).map((c) => c.card);
      return { ...view, removed: [...view.removed, ...replaced], status: { ...view.status, cards: [...view.status.cards, card] } };
    }
    case 'card-progress':
      return withCard(view, event.card, (card) => (card.state === 'flashing' ? { ...card, progress: event.progress } : card));
    case 'card-done':
    case 'card-lost':
      return withCard(view, event.result.card, (card) => ({ ...card, state: event.result.verdict, result: event.result }));
    case 'card-removed':
      return view.removed.includes(event.card) ? view : { ...view, removed: [...view.removed, event.card] };
    case 'warning':
      return { ...view, warnings: [...view.warnings, event.message].slice(-MAX_WARNINGS) };
    case 'stopping':
      return { ...view, status: { ...view.status, state: event.cancelling ? 'cancelling' : 'stopping' } };
    case 'stopped':
      return { ...view, status: { ...view.status, state: 'stopped', summary: event.summary } };
  }
}

/** The slot a card sits in: its physical slot, else its device path. */
export const slotKey = (card: Pick<StationCard, 'slot' | 'device'>): string => card.slot ?? card.device;

/** One tile: a slot and the card in it (null: waiting for one). */
export interface SlotTile {
  key: string;
  /** The slot as configured or seen (sysfs path), null for a card without a known slot. */
  slot: string | null;
  card: StationCard | null;
}

/** True when `slot` lies on the configured slot `prefix` (whole path segments). */
export function inSlot(slot: string, prefix: string): boolean {
  const base = prefix.replace(/\/+$/, '');
  return slot === base || slot.startsWith(`${base}/`);
}

/**
 * One tile per slot, in the order the slots were configured or first used: the card in it now (running,
 * or finished and not yet taken out), else waiting. With configured slots every slot has a tile from the
 * start; without, a slot gets one when its first card comes.
 */
export function stationSlots(view: StationView): SlotTile[] {
  const tiles = new Map<string, SlotTile>();
  for (const slot of view.status.options?.slots ?? []) tiles.set(slot, { key: slot, slot, card: null });
  for (const card of view.status.cards) {
    const configured = card.slot !== null ? (view.status.options?.slots ?? []).find((s) => inSlot(card.slot as string, s)) : undefined;
    const key = configured ?? slotKey(card);
    const present = card.state === 'flashing' || !view.removed.includes(card.card);
    tiles.set(key, { key, slot: configured ?? card.slot, card: present ? card : null });
  }
  return [...tiles.values()];
}
