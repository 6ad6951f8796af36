/**
 * The running job inside the flash step, Etcher-style: the phase in words, a big percentage and bar, write
 * speed (and download speed for links), time left, rewrites so far, and Cancel (which asks first).
 */
import { useEffect, useRef, useState } from 'react';
import { formatBytes, formatEta, formatSpeed } from '../../shared/format';
import { batchPhaseText, batchTotals, isRetrying, phaseText } from '../model/progress-facts';
import { jobCards } from '../store/job-state';
import { useApp } from '../store/store-context';
import { CancelDialog } from './confirm-dialogs';

export function FlashProgressView() {
  const job = useApp((s) => s.job);
  const readback = useApp((s) => s.settings.readback);
  const cancelling = useApp((s) => s.cancelling);
  const cancel = useApp((s) => s.cancel);
  const [asking, setAsking] = useState(false);
  const phaseRef = useRef<HTMLParagraphElement>(null);
  // The Flash! button is gone: keep keyboard focus in this step.
  useEffect(() => phaseRef.current?.focus(), []);

  const cards = jobCards(job);
  const several = cards.length > 1;
  const totals = batchTotals(cards, job.layout);
  const single = cards.length === 1 ? cards[0] : undefined;
  const phase = cancelling
    ? 'Cancelling…'
    : single
      ? phaseText(single.progress, { mode: job.mode, readback, started: job.layout !== null })
      : batchPhaseText(cards, job.mode);
  const retrying = cards.some((c) => c.report === null && isRetrying(c.progress));
  const activity = single?.progress?.activity;

  const onCancel = (): void => {
    // Verifying only reads: nothing to lose by stopping at once.
    if (job.mode === 'verify') void cancel();
    else setAsking(true);
  };

  return (
    <div className="progress" aria-label="Progress" role="group">
      <p className={`phase${retrying ? ' phase-retrying' : ''}`} data-testid="phase" aria-live="polite" ref={phaseRef} tabIndex={-1}>
        {phase}
      </p>
      <p className="percent" data-testid="percent">
        {totals.percent}%
      </p>
      <div className="bar" role="progressbar" aria-label="Done" aria-valuemin={0} aria-valuemax={100} aria-valuenow={totals.percent}>
        <div className={`bar-fill${retrying ? ' bar-retrying' : ''}`} style={{ width: `${totals.percent}%` }} />
      </div>
      <ul className="progress-figures" aria-label="Figures">
        <li>
          {formatBytes(totals.bytesDone)} of {formatBytes(totals.bytesTotal)}
          {several ? ' in all' : ''}
        </li>
        <li>{formatEta(totals.etaSeconds)} left</li>
        <li data-testid="write-speed">
          {job.mode === 'verify' ? 'Reading' : 'Writing'} {formatSpeed(totals.speed > 0 ? totals.speed : null)}
        </li>
        {totals.download && <li data-testid="download-speed">Downloading {formatSpeed(totals.download.speed)}</li>}
        <li className={totals.retries > 0 ? 'phase-retrying' : undefined}>
          Retries so far:{' '}
          <span data-testid="retry-count" aria-label={`Retries: ${totals.retries}`}>
            {totals.retries}
          </span>
          {activity?.kind === 'rewriting' && !several ? ` (range ${activity.range + 1})` : ''}
        </li>
      </ul>
      <div className="step-actions">
        <button type="button" className="step-button" onClick={onCancel} disabled={cancelling || job.jobId === null}>
          {several ? 'Cancel all' : 'Cancel'}
        </button>
      </div>
      {asking && (
        <CancelDialog
          device={null}
          several={several}
          onClose={() => setAsking(false)}
          onConfirm={() => {
            setAsking(false);
            void cancel();
          }}
        />
      )}
    </div>
  );
}
