/**
 * One tile per card while a job over several cards runs: who the card is, its phase and progress, a small
 * range map, retries and speed, and Stop. A card that finishes (or fails, or is pulled out) turns into its
 * verdict while the others go on.
 */
import { useState } from 'react';
import type { FlashLayout } from '../../shared/report';
import { formatBytes, formatSpeed } from '../../shared/format';
import { driveName } from '../model/drive-display';
import { cardTotals, isRetrying, shortPhaseText } from '../model/progress-facts';
import { cardVerdict } from '../model/verdict';
import { jobCards, type CardRun } from '../store/job-state';
import { useApp } from '../store/store-context';
import { CancelDialog } from './confirm-dialogs';
import { Icon } from './icon';
import { RangeMap } from './range-map';
import { TruncatedText } from './truncated-text';
import { verdictIcon } from './card-verdict';

interface TileProps {
  card: CardRun;
  layout: FlashLayout | null;
  mode: 'copy' | 'verify';
  onStop(): void;
  stopping: boolean;
}

function CardTile({ card, layout, mode, onStop, stopping }: TileProps) {
  const drive = useApp((s) => s.drives.find((d) => d.device === card.device));
  const name = drive ? driveName(drive) : card.target.description;
  const totals = cardTotals(card, layout);
  const verdict = card.report ? cardVerdict(card.report) : null;
  const retrying = !verdict && isRetrying(card.progress);
  return (
    <li className={`tile${verdict ? ` tile-done verdict-${verdict.status}` : ''}${retrying ? ' tile-retrying' : ''}`} data-device={card.device} aria-label={`${card.device} ${name}`}>
      <TruncatedText className="tile-name" text={name} />
      <p className="tile-path">
        {card.device} · {formatBytes(card.target.size)}
      </p>
      {verdict ? (
        <div className="tile-verdict" aria-live="polite">
          <p className="tile-verdict-head">
            <Icon name={verdictIcon(verdict.status)} /> {verdict.headline}
          </p>
          <p className="tile-verdict-sub">{verdict.unsafe ? 'Do not use it' : verdict.remove ? 'Remove it' : verdict.status === 'cancelled' ? 'Nothing written' : ''}</p>
        </div>
      ) : (
        <p className={`tile-phase${retrying ? ' phase-retrying' : ''}`} aria-live="polite" data-testid="tile-phase">
          <span className="tile-phase-text">{stopping ? 'Stopping…' : shortPhaseText(card.progress, mode)}</span>
          <span className="tile-percent">{totals.percent}%</span>
        </p>
      )}
      <div className="bar small" role="progressbar" aria-label={`${card.device} done`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={totals.percent}>
        <div className={`bar-fill${retrying ? ' bar-retrying' : ''}${verdict ? ` bar-${verdict.status}` : ''}`} style={{ width: `${totals.percent}%` }} />
      </div>
      {layout && <RangeMap layout={layout} ranges={card.ranges} bytesDone={card.report ? undefined : card.progress?.bytesDone} mode={mode} mini />}
      <div className="tile-foot">
        <span>
          Retries {totals.retries}
          {!verdict && ` · ${formatSpeed(totals.speed > 0 ? totals.speed : null)}`}
        </span>
        {!verdict && (
          <button type="button" className="small" onClick={onStop} disabled={stopping} aria-label={`Stop ${card.device}`}>
            Stop
          </button>
        )}
      </div>
    </li>
  );
}

export function CardTiles() {
  const job = useApp((s) => s.job);
  const cancel = useApp((s) => s.cancel);
  const cancelling = useApp((s) => s.cancelling);
  const stopping = useApp((s) => s.cancellingDevices);
  const [asking, setAsking] = useState<string | null>(null);
  const cards = jobCards(job);
  return (
    <>
      <ul className="tiles" aria-label="Cards">
        {cards.map((card) => (
          <CardTile
            key={card.device}
            card={card}
            layout={job.layout}
            mode={job.mode}
            stopping={cancelling || stopping.includes(card.device)}
            onStop={() => (job.mode === 'verify' ? void cancel(card.device) : setAsking(card.device))}
          />
        ))}
      </ul>
      {asking !== null && (
        <CancelDialog
          device={asking}
          several
          onClose={() => setAsking(null)}
          onConfirm={() => {
            const device = asking;
            setAsking(null);
            void cancel(device);
          }}
        />
      )}
    </>
  );
}
