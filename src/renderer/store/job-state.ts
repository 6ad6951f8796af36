/**
 * What the renderer knows about one flash job, and the pure reducer that folds the job's events into it:
 * `started` lays out the ranges, `progress` recolours the ranges it names, `done` / `error` end the job.
 */
import type { FlashEvent } from '../../shared/api';
import type { BatchReport, FlashLayout, FlashProgress, FlashReport, RangeState } from '../../shared/report';
import type { ApiError } from '../../shared/result';

export interface JobState {
  /** Null until main answers the flash request (or the first event names the job). */
  jobId: string | null;
  layout: FlashLayout | null;
  /** State of each range, by range index. */
  rangeStates: RangeState[];
  /** Rewrites done so far per range, by range index. */
  rangeRetries: number[];
  progress: FlashProgress | null;
  /** The first card's report (one card per job until the many-cards screens land). */
  report: FlashReport | null;
  batch: BatchReport | null;
  /** The job ended without a report (it could not start or the engine broke). */
  error: ApiError | null;
}

export const emptyJob: JobState = {
  jobId: null,
  layout: null,
  rangeStates: [],
  rangeRetries: [],
  progress: null,
  report: null,
  batch: null,
  error: null,
};

/** True when the event belongs to the job (a job without an id yet adopts the first job that speaks). */
export function isEventForJob(job: JobState, event: FlashEvent): boolean {
  return job.jobId === null || job.jobId === event.jobId;
}

/** Folds one event into the job; events of other jobs leave it unchanged. */
export function applyFlashEvent(job: JobState, event: FlashEvent): JobState {
  if (!isEventForJob(job, event)) return job;
  switch (event.type) {
    case 'started': {
      const count = event.layout.ranges.reduce((max, r) => Math.max(max, r.index + 1), 0);
      return {
        ...job,
        jobId: event.jobId,
        layout: event.layout,
        rangeStates: new Array<RangeState>(count).fill('pending'),
        rangeRetries: new Array<number>(count).fill(0),
      };
    }
    case 'progress': {
      const { rangeChanges } = event.progress;
      if (rangeChanges.length === 0) return { ...job, jobId: event.jobId, progress: event.progress };
      const rangeStates = job.rangeStates.slice();
      const rangeRetries = job.rangeRetries.slice();
      for (const change of rangeChanges) {
        rangeStates[change.index] = change.state;
        rangeRetries[change.index] = change.retries;
      }
      return { ...job, jobId: event.jobId, progress: event.progress, rangeStates, rangeRetries };
    }
    case 'target-done':
      return job;
    case 'done': {
      const card = event.report.cards[0];
      if (!card) return { ...job, jobId: event.jobId, batch: event.report, error: event.report.cards.length === 0 ? { code: 'INTERNAL', message: 'The job ended without any card report.' } : null };
      // The report is the truth: recolour every range from it.
      const rangeStates = job.rangeStates.slice();
      const rangeRetries = job.rangeRetries.slice();
      for (const range of card.ranges) {
        rangeStates[range.index] = range.state;
        rangeRetries[range.index] = range.retries;
      }
      return { ...job, jobId: event.jobId, report: card, batch: event.report, rangeStates, rangeRetries };
    }
    case 'error':
      return { ...job, jobId: event.jobId, error: event.error };
  }
}

/** True once the job has ended, with a report or an error. */
export const isJobOver = (job: JobState): boolean => job.report !== null || job.error !== null;
