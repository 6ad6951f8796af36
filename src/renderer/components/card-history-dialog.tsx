/**
 * A card's past from the flash history: who it is, how often it was flashed, retries and bad blocks in all,
 * its health with the reasons, the trend, and each flash (newest first).
 */
import type { CardRecord, CardSummary, FlashRow } from '../../shared/history-types';
import { formatBytes, formatSpeed } from '../../shared/format';
import { healthName, healthReasons } from '../model/station-words';
import { useApp } from '../store/store-context';
import { ModalDialog } from './modal-dialog';
import { TruncatedText } from './truncated-text';

const pad2 = (n: number): string => String(n).padStart(2, '0');
/** Local date and time to the minute: "2026-12-06 09:30". */
export function when(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

const RESULTS: Record<string, string> = { verified: 'Verified', failed: 'Failed', cancelled: 'Cancelled', 'written-unverified': 'Written, not checked' };

const BUS_NAMES: Record<string, string> = { usb: 'USB drive', mmc: 'SD card', loop: 'Loop device', sata: 'SATA disk', nvme: 'NVMe disk', virtio: 'Virtual disk', scsi: 'SCSI disk' };

function cardTitle(card: CardRecord): string {
  const name = [card.vendor, card.model].filter(Boolean).join(' ') || (card.bus ? BUS_NAMES[card.bus] : undefined) || 'Card';
  return `${name}${card.sizeBytes ? `, ${formatBytes(card.sizeBytes)}` : ''}`;
}

const ID_SOURCES: Record<string, string> = {
  cid: 'from the card’s own ID register (CID)',
  serial: 'from the card’s serial number',
  fingerprint: 'from its first and last MiB only (weak: another image changes it)',
};

function FlashLine({ row }: { row: FlashRow }) {
  const o = row.outcome;
  const speed = o.writeSpeed ?? o.averageSpeed;
  return (
    <li className={`history-flash result-${o.status}`}>
      <span className="history-when">{when(row.startedAt)}</span>
      <span className="history-result">{RESULTS[o.status] ?? o.status}</span>
      <TruncatedText className="history-image" text={row.image.name} />
      <span className="history-figures">
        retries {o.retries} · rewritten {o.rewrittenBlocks} · bad blocks {o.badBlocks}
        {speed ? ` · ${formatSpeed(speed)}` : ''}
        {row.health ? ` · ${healthName(row.health.verdict)}` : ''}
      </span>
    </li>
  );
}

const TRENDS: Record<string, string> = { improving: 'improving', stable: 'stable', worsening: 'worsening' };

/** "retries worsening, speed stable", or null when there is no trend yet. */
function trendWords(card: CardSummary): string | null {
  const { retries, speed } = card.trend;
  if (retries === 'unknown' && speed === 'unknown') return null;
  return [TRENDS[retries] ? `retries ${retries}` : null, TRENDS[speed] ? `speed ${speed}` : null].filter(Boolean).join(', ');
}

/** Every card the history holds, latest flashed first: one button each. */
function CardList({ cards }: { cards: CardSummary[] }) {
  const open = useApp((s) => s.showCardHistory);
  if (cards.length === 0) return <p>No card has been recorded yet: the station and every flash of the app record the cards they write.</p>;
  return (
    <ul className="history-cards" aria-label="Cards">
      {cards.map((card) => {
        const trend = trendWords(card);
        return (
          <li key={card.card.cardId} className={card.health ? `health-${card.health}` : undefined}>
            <button type="button" className="history-card-button" onClick={() => void open(card.card.cardId)} aria-label={`${cardTitle(card.card)}: ${card.card.cardId}`}>
              <TruncatedText className="history-card-name" text={cardTitle(card.card)} />
              <span className="history-card-health">{card.health ? healthName(card.health) : '—'}</span>
              <span className="history-card-facts">
                {card.flashes} {card.flashes === 1 ? 'flash' : 'flashes'}, last {when(card.lastAt)} {RESULTS[card.lastStatus] ?? card.lastStatus}
                {card.totals.badBlocks > 0 ? ` · ${card.totals.badBlocks} bad blocks` : ''}
                {trend ? ` · ${trend}` : ''}
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

export function CardHistoryDialog() {
  const panel = useApp((s) => s.historyPanel);
  const close = useApp((s) => s.showCardHistory);
  const showCards = useApp((s) => s.showHistoryCards);
  if (panel === null) return null;
  const data = panel.history;
  const lastHealth = data ? ([...data.flashes].reverse().find((f) => f.health !== null)?.health ?? null) : null;
  const reasons = healthReasons(lastHealth);
  return (
    <ModalDialog title="Card history" onClose={() => void close(null)} className="history">
      <div className="dialog-scroll">
        {panel.loading && <p className="muted">Reading the history…</p>}
        {panel.error && (
          <p className="error" role="alert">
            {panel.error}
          </p>
        )}
        {panel.cardId === null && panel.cards && <CardList cards={panel.cards} />}
        {panel.cardId !== null && !panel.loading && !panel.error && data === null && <p>This card has no flashes in the history yet.</p>}
        {data && (
          <>
            <div>
              <TruncatedText className="history-card" text={cardTitle(data.summary.card)} />
              <p className="muted">Known {ID_SOURCES[data.summary.card.idSource] ?? 'by its identity'}.</p>
              <TruncatedText className="muted history-id" text={`Card id ${data.summary.card.cardId}`} />
            </div>
            <dl className="facts" aria-label="Card totals">
              <dt>Flashes</dt>
              <dd data-testid="history-flashes">{data.summary.flashes}</dd>
              <dt>Retries in all</dt>
              <dd data-testid="history-retries">{data.summary.totals.retries}</dd>
              <dt>Bad blocks in all</dt>
              <dd data-testid="history-bad-blocks">{data.summary.totals.badBlocks}</dd>
              <dt>Health</dt>
              <dd data-testid="history-health">{data.summary.health ? healthName(data.summary.health) : 'Not judged yet'}</dd>
              <dt>Trend</dt>
              <dd data-testid="history-trend">{data.summary.trend.summary}</dd>
              <dt>Last flashed</dt>
              <dd>{when(data.summary.lastAt)}</dd>
            </dl>
            {reasons.length > 0 && (
              <ul className="notes" aria-label="Health reasons">
                {reasons.map((r) => (
                  <li key={r} className={lastHealth?.verdict === 'retire' ? 'note-error' : lastHealth?.verdict === 'watch' ? 'note-warning' : 'note-info'}>
                    {r}
                  </li>
                ))}
              </ul>
            )}
            <h3>Flashes, newest first</h3>
            <ol className="history-flashes" aria-label="Flashes">
              {[...data.flashes].reverse().map((row) => (
                <FlashLine key={row.id} row={row} />
              ))}
            </ol>
          </>
        )}
      </div>
      <div className="dialog-buttons">
        {panel.cardId !== null && panel.cards !== null && (
          <button type="button" onClick={() => void showCards()}>
            All cards
          </button>
        )}
        <button type="button" className="primary" onClick={() => void close(null)}>
          Close
        </button>
      </div>
    </ModalDialog>
  );
}
