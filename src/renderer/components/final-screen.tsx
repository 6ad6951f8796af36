/**
 * The outcome, read from the reports: one card gets a big verdict; several get a summary and one row per
 * card, each with its own verdict (role=status), and the details of the card picked. "Save report" saves
 * the batch report, "Flash failed cards again" re-runs only those, "Flash another" starts over.
 */
import { useEffect, useRef, useState } from 'react';
import { batchStatus } from '../../shared/report';
import { driveName } from '../model/drive-display';
import { cardVerdict, errorVerdict, type Verdict } from '../model/verdict';
import { failedDevices } from '../store/app-store';
import { jobCards, type CardRun, type JobState } from '../store/job-state';
import { useApp } from '../store/store-context';
import { VerdictBlock, verdictIcon } from './card-verdict';
import { Icon } from './icon';
import { ReportDetails } from './report-details';
import { TruncatedText } from './truncated-text';

const fileName = (path: string): string => path.split(/[\\/]/).pop() ?? path;

function verdictOf(card: CardRun, job: JobState): Verdict {
  if (card.report) return cardVerdict(card.report);
  return errorVerdict(job.error ?? { code: 'INTERNAL', message: `No report came for ${card.device}.` });
}

function BatchSummary({ job, focusRef }: { job: JobState; focusRef: React.Ref<HTMLHeadingElement> }) {
  const cards = jobCards(job);
  const reports = cards.map((c) => c.report).filter((r) => r !== null);
  const status = job.batch?.status ?? batchStatus(reports.length > 0 ? reports : [{ status: 'failed' }]);
  const verified = reports.filter((r) => r.status === 'verified').length;
  const others = (['failed', 'cancelled', 'written-unverified'] as const)
    .map((s) => [s, cards.filter((c) => verdictOf(c, job).status === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s === 'written-unverified' ? 'written, not checked' : s}`);
  return (
    <div className={`verdict verdict-${status} verdict-big`}>
      <span className="verdict-icon">
        <Icon name={verdictIcon(status)} />
      </span>
      <div className="verdict-text">
        <h2 className="verdict-headline" ref={focusRef} tabIndex={-1} data-testid="batch-headline">
          {verified === cards.length ? `All ${cards.length} cards verified` : `${verified} of ${cards.length} cards verified`}
        </h2>
        <p className="verdict-meaning">{others.length > 0 ? `${others.join(', ')}: see each card below.` : 'Every card was read back and holds the image. You can remove them now.'}</p>
      </div>
    </div>
  );
}

function CardRow({ card, job, picked, onPick }: { card: CardRun; job: JobState; picked: boolean; onPick(): void }) {
  const drive = useApp((s) => s.drives.find((d) => d.device === card.device));
  const verdict = verdictOf(card, job);
  const name = drive ? driveName(drive) : card.target.description;
  return (
    <li className={`card-row${picked ? ' is-picked' : ''}`} data-device={card.device}>
      <div className="card-row-who">
        <TruncatedText className="card-row-name" text={name} />
        <span className="card-row-path">{card.device}</span>
      </div>
      <VerdictBlock verdict={verdict} compact />
      <button type="button" className="small" aria-pressed={picked} onClick={onPick} aria-label={`Details of ${card.device}`}>
        Details
      </button>
    </li>
  );
}

export function FinalScreen() {
  const job = useApp((s) => s.job);
  const drives = useApp((s) => s.drives);
  const savedPath = useApp((s) => s.savedReportPath);
  const saveError = useApp((s) => s.saveError);
  const saveReport = useApp((s) => s.saveReport);
  const flashAnother = useApp((s) => s.flashAnother);
  const flashFailedAgain = useApp((s) => s.flashFailedAgain);
  const focusRef = useRef<HTMLDivElement & HTMLHeadingElement>(null);
  const cards = jobCards(job);
  const several = cards.length > 1;
  const firstBad = cards.find((c) => verdictOf(c, job).status !== 'verified') ?? cards[0];
  const [picked, setPicked] = useState<string | null>(firstBad?.device ?? null);
  // The progress is gone: move keyboard focus to the outcome so it is read first.
  useEffect(() => focusRef.current?.focus(), []);

  const present = new Set(drives.map((d) => d.device));
  const again = failedDevices(job);
  const againPresent = again.filter((d) => present.has(d));
  const pickedCard = cards.find((c) => c.device === picked) ?? cards[0];
  const single = !several ? cards[0] : undefined;
  const image = job.batch?.image.path ?? single?.report?.image.path;
  const verb = job.mode === 'verify' ? 'Verify' : 'Flash';

  return (
    <section className={`screen final-screen${several ? ' final-several' : ''}`} aria-labelledby="final-title">
      <h2 id="final-title" className="visually-hidden">
        Result
      </h2>
      <div className="final-top">
        {single ? (
          <VerdictBlock verdict={verdictOf(single, job)} big focusRef={focusRef} subject={image ? `${fileName(image)} → ${single.device}` : single.device} />
        ) : (
          <BatchSummary job={job} focusRef={focusRef} />
        )}
      </div>
      <div className="final-body">
        {several && (
          <ul className="card-rows" aria-label="Cards">
            {cards.map((card) => (
              <CardRow key={card.device} card={card} job={job} picked={card.device === pickedCard?.device} onPick={() => setPicked(card.device)} />
            ))}
          </ul>
        )}
        {pickedCard?.report && (
          <section className="card-details" aria-label={`Details of ${pickedCard.device}`}>
            {several && <h3>{pickedCard.device}</h3>}
            <ReportDetails report={pickedCard.report} layout={job.layout} ranges={pickedCard.ranges} />
          </section>
        )}
      </div>
      <div className="final-actions">
        {job.batch && (
          <button type="button" onClick={() => void saveReport()}>
            Save report
          </button>
        )}
        {again.length > 0 && (
          <button
            type="button"
            onClick={() => void flashFailedAgain()}
            disabled={againPresent.length === 0}
            title={againPresent.length < again.length ? `${again.length - againPresent.length} of them ${again.length - againPresent.length === 1 ? 'is' : 'are'} no longer connected` : undefined}
          >
            {several ? `${verb} failed cards again (${againPresent.length})` : `${verb} this card again`}
          </button>
        )}
        <button type="button" className="primary" onClick={flashAnother}>
          {job.mode === 'verify' ? 'Done' : 'Flash another'}
        </button>
        {savedPath && (
          <p className="saved" aria-live="polite">
            Report saved to <TruncatedText text={savedPath} />
          </p>
        )}
        {saveError && (
          <p className="error" role="alert">
            {saveError}
          </p>
        )}
      </div>
    </section>
  );
}
