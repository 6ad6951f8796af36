/**
 * The station part of the app store: whether Station mode is shown, the station as main reports it (folded
 * from its events), arming, stopping and cancelling through the Api, a sound or notification on each
 * verdict, and the card history view. Merged into the app store (app-store.ts) as one slice.
 */
import type { CardSummary } from '../../shared/history-types';
import { MAX_STATION_CARDS, type Api, type CardHistory, type ConfirmRequest, type ImageInfo, type Settings, type StationRequest } from '../../shared/api';
import { LARGE_DRIVE_BYTES } from '../../shared/drive-rules';
import type { StationEvent, StationStatus } from '../../shared/station';
import type { ApiError } from '../../shared/result';
import { cardName, healthName, tileLine, tileWords } from '../model/station-words';
import { applyStationEvent, emptyStation, isStationRunning, stationFromStatus, type StationView } from './station-state';
import { silentAlerts, type VerdictAlerts } from './verdict-alert';

/** What the user sets before arming (the rest comes from Settings). */
export interface StationForm {
  maxCards: number;
  /** Drives larger than this (SI gigabytes) are never taken. */
  maxSizeGb: number;
  /** Physical slots (sysfs device paths); empty: any slot. */
  slots: string[];
  skipIdentical: boolean;
}

export const DEFAULT_STATION_FORM: StationForm = { maxCards: 4, maxSizeGb: LARGE_DRIVE_BYTES / 1e9, slots: [], skipIdentical: false };

/** The card history view: every card recorded (cardId null), or one card; and what main answered. */
export interface HistoryPanel {
  cardId: string | null;
  loading: boolean;
  history: CardHistory | null;
  /** The list of cards, once it was asked for (kept while one card is shown, for "All cards"). */
  cards: CardSummary[] | null;
  error: string | null;
}

export interface StationSlice {
  /** Station mode is on screen (instead of the three steps). */
  stationOpen: boolean;
  station: StationView;
  /** Why arming, stopping or cancelling was refused. */
  stationError: ApiError | null;
  /** The arm call is waiting (main's question, the image check). */
  stationArming: boolean;
  historyPanel: HistoryPanel | null;

  /** Subscribes to station events and loads the station's status (a running station opens Station mode). */
  initStation(): () => void;
  openStation(open: boolean): void;
  /** Checks the form and arms the station on the chosen image with the settings. */
  armStation(form: StationForm): Promise<void>;
  /** Stops taking cards; `cancel` also cancels the running ones. */
  stopStation(cancel: boolean): Promise<void>;
  cancelStationCard(card: number): Promise<void>;
  /** Opens the history of a card (null closes the history view). */
  showCardHistory(cardId: string | null): Promise<void>;
  /** Opens the list of every card the history holds. */
  showHistoryCards(): Promise<void>;
}

/** What the slice reads from the rest of the app state. */
interface Needs {
  settings: Settings;
  image: ImageInfo | null;
  confirmRequests: ConfirmRequest[];
  screen: string;
}

type State = StationSlice & Needs;
/** What the slice may change: its own fields, and main's questions once its arm call is over. */
type Settable = Partial<StationSlice & Pick<Needs, 'confirmRequests'>>;

/** Why the form cannot arm the station, or null. */
export function stationFormProblem(form: StationForm): string | null {
  if (!Number.isInteger(form.maxCards) || form.maxCards < 1 || form.maxCards > MAX_STATION_CARDS) return `Cards at a time must be a whole number from 1 to ${MAX_STATION_CARDS}.`;
  if (!Number.isFinite(form.maxSizeGb) || form.maxSizeGb < 1 || form.maxSizeGb > 1e6) return 'The size limit must be a number of gigabytes from 1 to 1000000.';
  const bad = form.slots.find((slot) => !/^\/devices\/\S*$/.test(slot));
  if (bad !== undefined) return `"${bad}" is not a slot: a slot is a path that starts with /devices/ (as the drive list shows it).`;
  return null;
}

/** The Api request of a form, with the settings and the chosen image. */
export function stationRequest(form: StationForm, image: ImageInfo, settings: Settings): StationRequest {
  return {
    imagePath: image.path,
    ...(image.bmap ? { bmapPath: image.bmap.path } : {}),
    retries: settings.retries,
    readback: settings.readback,
    probe: settings.probe,
    skipIdentical: form.skipIdentical,
    maxCards: form.maxCards,
    slots: [...new Set(form.slots)],
    maxSizeBytes: Math.round(form.maxSizeGb * 1e9),
  };
}

export function createStationSlice(
  api: Api,
  set: (partial: Settable | ((state: State) => Settable)) => void,
  get: () => State,
  alerts: VerdictAlerts = silentAlerts,
): StationSlice {
  const announce = (event: StationEvent): void => {
    if ((event.type !== 'card-done' && event.type !== 'card-lost') || !get().settings.notifications) return;
    const card = get().station.status.cards.find((c) => c.card === event.result.card);
    if (!card) return;
    const words = tileWords(card);
    const health = event.result.health ? ` Health: ${healthName(event.result.health.verdict)}.` : '';
    alerts.announce({ title: `${tileLine(words)}: card ${card.card}`, body: `${cardName(card)} (${card.device}).${health}`, good: words.tone === 'good' });
  };

  return {
    stationOpen: false,
    station: emptyStation,
    stationError: null,
    stationArming: false,
    historyPanel: null,

    initStation() {
      const off = api.onStationEvent((event) => {
        const next = applyStationEvent(get().station, event);
        if (next === get().station) return;
        set({ station: next });
        announce(event);
      });
      void api.stationStatus().then((result) => {
        if (!result.ok) return;
        set((s) => ({ station: stationFromStatus(s.station, result.value) }));
        // A window opened while the station runs shows it at once (not over a running flash).
        if (isStationRunning(result.value) && get().screen === 'setup') set({ stationOpen: true });
      });
      return off;
    },

    openStation(open) {
      const running = isStationRunning(get().station.status);
      if (!open && running) return;
      // Opened anew: the arming form, not the summary of a session that ended before.
      set(open && !running ? { stationOpen: true, stationError: null, station: emptyStation } : { stationOpen: open, stationError: null });
    },

    async armStation(form) {
      const { image, settings } = get();
      const problem = stationFormProblem(form);
      if (problem !== null) {
        set({ stationError: { code: 'USAGE', message: problem } });
        return;
      }
      if (image === null) {
        set({ stationError: { code: 'USAGE', message: 'Choose an image first.' } });
        return;
      }
      alerts.prepare();
      set({ stationArming: true, stationError: null });
      const result = await api.armStation(stationRequest(form, image, settings));
      // Whatever main asked about arming is over once the call is.
      set({ confirmRequests: [], stationArming: false });
      if (!result.ok) {
        set({ stationError: result.error });
        return;
      }
      set((s) => ({ station: stationFromStatus(s.station, result.value) }));
    },

    async stopStation(cancel) {
      const result = await api.stopStation(cancel);
      if (!result.ok) set({ stationError: result.error });
      else set((s) => ({ station: afterStop(s.station, result.value) }));
    },

    async cancelStationCard(card) {
      const result = await api.cancelStationCard(card);
      if (!result.ok) set({ stationError: result.error });
    },

    async showCardHistory(cardId) {
      if (cardId === null) {
        set({ historyPanel: null });
        return;
      }
      const cards = get().historyPanel?.cards ?? null;
      set({ historyPanel: { cardId, loading: true, history: null, cards, error: null } });
      const result = await api.cardHistory(cardId);
      if (get().historyPanel?.cardId !== cardId) return;
      set({ historyPanel: { cardId, loading: false, cards, history: result.ok ? result.value : null, error: result.ok ? null : result.error.message } });
    },

    async showHistoryCards() {
      set({ historyPanel: { cardId: null, loading: true, history: null, cards: null, error: null } });
      const result = await api.historyCards();
      if (get().historyPanel === null || get().historyPanel?.cardId !== null) return;
      set({ historyPanel: { cardId: null, loading: false, history: null, cards: result.ok ? result.value : null, error: result.ok ? null : result.error.message } });
    },
  };
}

/** The view after a stop call's answer (its events may come later, or have come already). */
function afterStop(view: StationView, status: StationStatus): StationView {
  if (status.sessionId !== view.status.sessionId || view.status.state === 'stopped') return view;
  if (status.state === 'stopped') return { ...view, status: { ...view.status, state: 'stopped', summary: status.summary } };
  // Never back from "cancelling" to "stopping".
  if (!isStationRunning(status) || (view.status.state === 'cancelling' && status.state === 'stopping')) return view;
  return { ...view, status: { ...view.status, state: status.state } };
}
