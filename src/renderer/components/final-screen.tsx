/**
 * The outcome, read from the job's report: a status line starting with Verified / Written / Failed /
 * Cancelled, ranges verified / retried / failed with their blocks, time and speed, plain-words errors with
 * the next step, "Save report" and "Flash another".
 */
import { useEffect, useRef } from 'react';
import { nextStep } from '../../shared/errors';
import { formatDuration, formatSpeed } from '../../shared/format';
import type { FlashReport, RangeReport } from '../../shared/report';
import type { ApiError } from '../../shared/result';
import { useApp } from '../store/store-context';
import { blockSpanText, RangeMap } from './range-map';

const MAX_LISTED = 20;

/** A job that ended before writing because the user said no (Cancel, or no administrator rights). */
const stoppedByUser = (error: ApiError | null): boolean => error?.code === 'CANCELLED' || error?.code === 'ELEVATION_REFUSED';

/** The status line; its first word is what tests and users look for. */
export function statusText(report: FlashReport | null, error: ApiError | null): string {
  if (!report && stoppedByUser(error)) return `Cancelled: ${error?.message ?? ''}`;
  if (!report) return `Failed: ${error?.message ?? 'the flash ended without a report.'}`;
  switch (report.status) {
    case 'verified':
      return `Verified: every written block of ${report.target.path} read back correctly.`;
    case 'written-unverified':
      return `Written, not verified: ${report.target.path} was written without reading it back.`;
    case 'cancelled':
      return `Cancelled: ${report.target.path} was not fully written.`;
    case 'failed':
      return `Failed: ${report.error?.message ?? `${report.target.path} did not hold the image.`}`;
  }
}

const fileName = (path: string): string => path.split(/[\\/]/).pop() ?? path;

const capitalise = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/** "Blocks 1024–2047 did not hold data after 3 retries: replace the card." for each bad span of a range. */
export function failedRangeLines(range: RangeReport): string[] {
  const spans = range.badBlocks && range.badBlocks.length > 0 ? range.badBlocks : [{ first: range.first, last: range.last }];
  const tries = `${range.retries} ${range.retries === 1 ? 'retry' : 'retries'}`;
  return spans.map((span) => `${capitalise(blockSpanText(span.first, span.last))} did not hold data after ${tries}: replace the card.`);
}

function RangeList({ title, ranges, line }: { title: string; ranges: RangeReport[]; line(range: RangeReport): string[] }) {
  if (ranges.length === 0) return null;
  const lines = ranges.flatMap(line);
  return (
    <div className="range-list">
      <h3>{title}</h3>
      <ul>
        {lines.slice(0, MAX_LISTED).map((text) => (
          <li key={text}>{text}</li>
        ))}
        {lines.length > MAX_LISTED && <li>…and {lines.length - MAX_LISTED} more (see the saved report).</li>}
      </ul>
    </div>
  );
}

function ReportDetails({ report }: { report: FlashReport }) {
  const failed = report.ranges.filter((r) => r.state === 'failed');
  const retried = report.ranges.filter((r) => r.retries > 0 && r.state !== 'failed');
  const verified = report.ranges.filter((r) => r.state === 'verified').length;
  return (
    <>
      <dl className="stats">
        <dt>Ranges verified</dt>
        <dd data-testid="ranges-verified">
          {verified} of {report.ranges.length}
        </dd>
        <dt>Ranges retried</dt>
        <dd data-testid="ranges-retried">{retried.length + failed.filter((r) => r.retries > 0).length}</dd>
        <dt>Ranges failed</dt>
        <dd data-testid="ranges-failed">{failed.length}</dd>
        <dt>Time</dt>
        <dd>{formatDuration(report.timings.totalMs)}</dd>
        <dt>Effective speed</dt>
        <dd>{formatSpeed(report.averageSpeed)}</dd>
      </dl>
      <RangeList title="Did not hold" ranges={failed} line={failedRangeLines} />
      <RangeList
        title="Rewritten, then verified"
        ranges={retried}
        line={(r) => [
          `${capitalise(blockSpanText(r.first, r.last))}: ${r.retries} ${r.retries === 1 ? 'retry' : 'retries'}` +
            (r.rewrittenBlocks > 0 ? `, ${r.rewrittenBlocks} ${r.rewrittenBlocks === 1 ? 'block' : 'blocks'} rewritten` : ''),
        ]}
      />
    </>
  );
}

export function FinalScreen() {
  const job = useApp((s) => s.job);
  const savedPath = useApp((s) => s.savedReportPath);
  const saveError = useApp((s) => s.saveError);
  const saveReport = useApp((s) => s.saveReport);
  const flashAnother = useApp((s) => s.flashAnother);
  const statusRef = useRef<HTMLParagraphElement>(null);
  // The progress screen is gone: move keyboard focus to the outcome so it is read first.
  useEffect(() => statusRef.current?.focus(), []);
  const { report } = job;
  const error = report?.error ?? job.error;
  const status = report?.status ?? (stoppedByUser(job.error) ? 'cancelled' : 'failed');

  return (
    <section className={`screen final-screen final-${status}`} aria-labelledby="final-title">
      <h2 id="final-title" className="visually-hidden">
        Result
      </h2>
      <p role="status" className="final-status" data-status={status} ref={statusRef} tabIndex={-1}>
        {statusText(report, job.error)}
      </p>
      {report && (
        <p className="hint" data-testid="final-what">
          {fileName(report.image.path)} → {report.target.path}
        </p>
      )}
      {error && status !== 'cancelled' && <p className="next-step">{nextStep(error.code)}</p>}
      {status === 'cancelled' && <p className="next-step">{nextStep(report ? 'CANCELLED' : (error?.code ?? 'CANCELLED'))}</p>}
      {report && <ReportDetails report={report} />}
      {job.layout && <RangeMap layout={job.layout} rangeStates={job.rangeStates} rangeRetries={job.rangeRetries} />}
      <div className="final-buttons">
        {report && (
          <button type="button" onClick={() => void saveReport()}>
            Save report
          </button>
        )}
        <button type="button" className="primary" onClick={flashAnother}>
          Flash another
        </button>
      </div>
      {savedPath && <p className="saved">Report saved to {savedPath}</p>}
      {saveError && (
        <p className="error" role="alert">
          {saveError}
        </p>
      )}
    </section>
  );
}
