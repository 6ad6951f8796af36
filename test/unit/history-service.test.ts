/** The GUI's read of the flash history: a real SQLite file in a data folder, never created by reading. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { historyFile } from '../../src/main/history/data-dir';
import { openHistoryIn } from '../../src/main/history/history-store';
import { createHistoryService } from '../../src/main/services/history-service';
import { flashRecord, sdCard, usbStickCard } from '../helpers/history-fixtures';

const root = mkdtempSync(join(tmpdir(), 'sureflash-history-service-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('history service', () => {
  it('a data folder without a history: no cards, no card, and no file created', async () => {
    const dir = join(root, 'empty');
    const history = createHistoryService(dir);
    expect(await history.cards()).toEqual([]);
    expect(await history.card('cid-0353')).toBeNull();
    expect(existsSync(historyFile(dir))).toBe(false);
  });

  it("one card's flashes oldest first, with the summary, the trend and the latest health; found by the start of its id", async () => {
    const dir = join(root, 'three');
    const store = openHistoryIn(dir);
    store.record(flashRecord({ startedAt: '2025-03-01T09:00:00.000Z' }));
    store.record(flashRecord({ startedAt: '2025-03-02T09:00:00.000Z', outcome: { retries: 1, rewrittenBlocks: 2 }, health: { verdict: 'watch', reasons: [{ code: 'RETRIES', verdict: 'watch', message: '1 retry needed.' }] } }));
    store.record(flashRecord({ startedAt: '2025-03-03T09:00:00.000Z', outcome: { retries: 2, rewrittenBlocks: 3, badBlocks: 1, status: 'failed', errorCode: 'READBACK_MISMATCH' }, health: { verdict: 'retire', reasons: [{ code: 'BAD_BLOCKS', verdict: 'retire', message: '1 block never held.' }] } }));
    store.record(flashRecord({ card: usbStickCard, startedAt: '2025-03-04T09:00:00.000Z' }));
    store.close();

    const history = createHistoryService(dir);
    expect((await history.cards()).map((c) => c.card.cardId)).toEqual([usbStickCard.cardId, sdCard.cardId]);
    const card = await history.card(sdCard.cardId.slice(0, 12));
    expect(card?.flashes.map((f) => f.startedAt)).toEqual(['2025-03-01T09:00:00.000Z', '2025-03-02T09:00:00.000Z', '2025-03-03T09:00:00.000Z']);
    expect(card?.summary).toMatchObject({ flashes: 3, health: 'retire', lastStatus: 'failed', totals: { retries: 3, rewrittenBlocks: 5, badBlocks: 1 } });
    expect(card?.summary.trend.retries).toBe('worsening');
    expect(await history.card('cid-ffff')).toBeNull();
  });
});
