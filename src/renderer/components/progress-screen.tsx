/** The running job: phase, percentage, speed, ETA, retries, the live range map and Cancel. */
import { useEffect, useRef } from 'react';
import { formatBytes, formatEta, formatSpeed } from '../../shared/format';
import type { Phase } from '../../shared/report';
import { useApp } from '../store/store-context';
import { RangeMap } from './range-map';

const PHASE_LABELS: Record<Phase, string> = {
  preparing: 'Preparing',
  probing: 'Checking the card holds what it claims',
  writing: 'Writing',
  verifying: 'Verifying',
  retrying: 'Rewriting blocks that did not read back',
  'final-check': 'Reading back once more after the last flush',
  flushing: 'Flushing to the drive',
  done: 'Finishing',
};

export function ProgressScreen() {
  const job = useApp((s) => s.job);
  const device = useApp((s) => s.device);
  const image = useApp((s) => s.image);
  const cancelling = useApp((s) => s.cancelling);
  const cancel = useApp((s) => s.cancel);
  const titleRef = useRef<HTMLHeadingElement>(null);
  // The Flash! button is gone: keep keyboard focus on this screen.
  useEffect(() => titleRef.current?.focus(), []);
  const progress = job.progress;
  const percent = progress && progress.bytesTotal > 0 ? Math.min(100, Math.floor((progress.bytesDone / progress.bytesTotal) * 100)) : 0;
  const readback = useApp((s) => s.settings.readback);
  // Each window is read back right after it is written: say so while it happens.
  const label = (p: Phase): string => (p === 'writing' && readback ? 'Writing and reading back' : PHASE_LABELS[p]);
  const phase = progress ? label(progress.phase) : job.layout ? 'Starting' : 'Preparing';

  return (
    <section className="screen progress-screen" aria-labelledby="progress-title">
      <h2 id="progress-title" ref={titleRef} tabIndex={-1}>
        Flashing {image?.name ?? 'image'} to {device ?? 'drive'}
      </h2>
      <p className="phase" data-testid="phase" aria-live="polite">
        {cancelling ? 'Cancelling…' : phase}
      </p>
      <div className="bar" role="progressbar" aria-label="Progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
        <div className="bar-fill" style={{ width: `${percent}%` }} />
      </div>
      <dl className="stats">
        <dt>Done</dt>
        <dd data-testid="percent">
          {percent}% ({formatBytes(progress?.bytesDone ?? 0)} of {formatBytes(progress?.bytesTotal ?? job.layout?.mappedBytes ?? null)})
        </dd>
        <dt>Speed</dt>
        <dd>{formatSpeed(progress && progress.speed > 0 ? progress.speed : null)}</dd>
        <dt>Time left</dt>
        <dd>{formatEta(progress?.etaSeconds ?? null)}</dd>
        <dt>Retries</dt>
        <dd data-testid="retry-count" aria-label={`Retries: ${progress?.retries ?? 0}`}>
          {progress?.retries ?? 0}
        </dd>
      </dl>
      {job.layout && <RangeMap layout={job.layout} rangeStates={job.rangeStates} rangeRetries={job.rangeRetries} />}
      <button type="button" onClick={() => void cancel()} disabled={cancelling || job.jobId === null}>
        Cancel
      </button>
    </section>
  );
}
