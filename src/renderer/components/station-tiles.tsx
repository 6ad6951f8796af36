/**
 * One tile per slot while the station runs, loud enough to read from across a bench: "Waiting",
 * "Flashing 43 %", "Verified — remove", "Failed — retire" in large type and the tile's colour, the card's
 * identity, its health verdict with the reasons, its history, and Stop for a card being flashed.
 */
import { useState } from 'react';
import type { StationCard } from '../../shared/station';
import { formatBytes } from '../../shared/format';
import { cardName, healthName, healthReasons, identityLine, tileLine, tileWords, type TileWords } from '../model/station-words';
import { stationSlots, type SlotTile } from '../store/station-state';
import { useApp } from '../store/store-context';
import { CancelDialog } from './confirm-dialogs';
import { Icon, type IconName } from './icon';
import { TruncatedText } from './truncated-text';

/** A short name for a slot path: "USB port 2-1.3", "SD slot mmc0", "loop5". */
export function slotLabel(slot: string | null, card: StationCard | null): string {
  if (slot === null) return card ? card.device : 'Next card';
  const parts = slot.split('/').filter(Boolean);
  const last = parts[parts.length - 1] ?? slot;
  if (/\/usb\d+\//.test(slot)) return `USB port ${last}`;
  if (/mmc/.test(last)) return `SD slot ${last}`;
  return last;
}

const TONE_ICONS: Record<TileWords['tone'], IconName> = { waiting: 'drive', busy: 'flash', good: 'verified', warn: 'warning', bad: 'failed' };

/**
 * The verdict line, breaking only where it reads well: never between a number and its "%", never between
 * the dash and the word after it ("Verified" / "— remove").
 */
function VerdictWords({ words }: { words: TileWords }) {
  const percent = /^(.*?) (\d+ %)$/.exec(words.headline);
  const [first, ...rest] = (words.action ?? '').split(' ');
  return (
    <span>
      {percent ? (
        <>
          {percent[1]} <span className="nowrap">{percent[2]}</span>
        </>
      ) : (
        words.headline
      )}
      {words.action && (
        <>
          {' '}
          <span className="nowrap">— {first}</span>
          {rest.length > 0 && ` ${rest.join(' ')}`}
        </>
      )}
    </span>
  );
}

function Health({ card }: { card: StationCard }) {
  const health = card.result?.health ?? null;
  if (!health) return null;
  const reasons = healthReasons(health);
  return (
    <div className={`slot-health health-${health.verdict}`}>
      <p className="slot-health-name">Health: {healthName(health.verdict)}</p>
      {reasons.length > 0 && (
        <ul className="slot-reasons" aria-label="Health reasons">
          {reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Tile({ tile, taking, cancelling }: { tile: SlotTile; taking: boolean; cancelling: boolean }) {
  const cancelCard = useApp((s) => s.cancelStationCard);
  const [asking, setAsking] = useState(false);
  const showHistory = useApp((s) => s.showCardHistory);
  const card = tile.card;
  const words = tileWords(card, { taking, cancelling });
  const label = slotLabel(tile.slot, card);
  const percent = card?.state === 'flashing' ? Math.floor(card.progress?.percent ?? 0) : null;
  // The history keeps a finished card under the identity main recorded it with (a content fingerprint changes with the image).
  const identity = card?.result?.identity ?? card?.identity ?? null;
  const cardId = identity?.cardId ?? null;
  return (
    <li className={`slot-tile tone-${words.tone}`} aria-label={`${label}: ${tileLine(words)}`} data-slot={tile.key} data-card={card?.card}>
      <div className="slot-head">
        <TruncatedText className="slot-label" text={label} />
        {card && <span className="slot-number">Card {card.card}</span>}
      </div>
      <p className="slot-verdict" role="status" aria-live="polite">
        <Icon name={TONE_ICONS[words.tone]} />
        <VerdictWords words={words} />
      </p>
      {percent !== null && (
        <div className="bar" role="progressbar" aria-label={`Card ${card?.card ?? ''} done`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
          <div className="bar-fill" style={{ width: `${percent}%` }} />
        </div>
      )}
      {words.detail && <TruncatedText className="slot-detail" text={words.detail} />}
      {card && (
        <>
          <TruncatedText className="slot-card" text={`${cardName(card)} · ${formatBytes(card.size)} · ${card.device}`} />
          <TruncatedText className="slot-identity" text={identityLine(identity)} />
          <Health card={card} />
          <div className="slot-foot">
            {card.result && <span className="slot-figures">Retries {card.result.summary.retries} · bad blocks {card.result.summary.badBlocks}</span>}
            {cardId && card.result && (
              <button type="button" className="small" onClick={() => void showHistory(cardId)} aria-label={`History of card ${card.card}`}>
                History
              </button>
            )}
            {card.state === 'flashing' && (
              <button type="button" className="small" onClick={() => setAsking(true)} disabled={cancelling} aria-label={`Stop card ${card.card}`}>
                Stop
              </button>
            )}
            {asking && card.state === 'flashing' && (
              <CancelDialog
                device={card.device}
                several
                onClose={() => setAsking(false)}
                onConfirm={() => {
                  setAsking(false);
                  void cancelCard(card.card);
                }}
              />
            )}
          </div>
        </>
      )}
    </li>
  );
}

export function StationTiles() {
  const view = useApp((s) => s.station);
  const state = view.status.state;
  const tiles = stationSlots(view);
  const taking = state === 'armed';
  // While armed without configured slots, a tile says where the next card goes (configured slots have their own).
  const configured = (view.status.options?.slots.length ?? 0) > 0;
  const shown: SlotTile[] = taking && !configured && !tiles.some((t) => t.card === null) ? [...tiles, { key: 'next', slot: null, card: null }] : tiles;
  if (shown.length === 0) return null;
  return (
    <ul className="slot-tiles" aria-label="Slots">
      {shown.map((tile) => (
        <Tile key={tile.key} tile={tile} taking={taking} cancelling={state === 'cancelling'} />
      ))}
    </ul>
  );
}
