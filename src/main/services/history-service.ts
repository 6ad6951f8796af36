/**
 * The flash history as the GUI reads it: the cards the station recorded and one card's past. Opens the
 * history database in the app's data folder for each question and closes it again (the station and the
 * CLI write it meanwhile); never creates it — a data folder without one simply has no history yet.
 */
import { existsSync } from 'node:fs';
import { MAX_HISTORY_CARDS, type CardHistory } from '../../shared/api';
import type { CardSummary } from '../../shared/history-types';
import { historyFile } from '../history/data-dir';
import { openHistory, type HistoryStore } from '../history/history-store';

export interface HistoryService {
  /** The cards recorded, latest flashed first (at most MAX_HISTORY_CARDS). */
  cards(): Promise<CardSummary[]>;
  /** One card's history by id or the unique start of one; null when there is no such card. */
  card(idOrPrefix: string): Promise<CardHistory | null>;
}

export function createHistoryService(dataDir: string): HistoryService {
  const file = historyFile(dataDir);
  const read = <T>(empty: T, body: (store: HistoryStore) => T): T => {
    if (!existsSync(file)) return empty;
    const store = openHistory(file, { create: false });
    try {
      return body(store);
    } finally {
      store.close();
    }
  };
  return {
    cards: async () => read([], (store) => store.cards().slice(0, MAX_HISTORY_CARDS)),
    card: async (idOrPrefix) =>
      read(null, (store) => {
        const cardId = store.resolveCardId(idOrPrefix);
        if (cardId === null) return null;
        const summary = store.cards({ cardId })[0];
        return summary ? { summary, flashes: store.cardHistory(cardId) } : null;
      }),
  };
}
