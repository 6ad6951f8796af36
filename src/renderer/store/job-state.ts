/**
 * What the renderer knows about one job over one or more cards, and the pure reducer that folds the job's
 * events into it: `started` lays out the ranges for every card, `progress` and `target-done` update the card
 * they name (the others go on), `done` carries the batch report, `error` ends a job that has none.
 */
import type { FlashEvent, JobTarget } from '../../shared/api';
import type { BatchReport, FlashLayout, FlashProgress, FlashReport, RangeChange } from '../../shared/report';
import type { ApiError } from '../../shared/result';
import { pendingRange, type RangeLive } from '../model/range-model';

export interface CardRun {
  device: string;
  target: JobTarget;
  /** Every range of the layout, by range index. */
  ranges: RangeLive[];
  progress: FlashProgress | null;
  /** Set when this card finished (target-done, or the batch report). */
  report: FlashReport | null;
}

export interface JobState {
  /** Null until main answers the flash request (or the first event names the job). */
  jobId: string | null;
  mode: 'copy' | 'verify';
  layout: FlashLayout | null;
  /** Cards in the order they were chosen. */
  devices: string[];
  cards: Record<string, CardRun>;
  batch: BatchReport | null;
  /** The job ended without a report (it could not start or the engine broke). */
  error: ApiError | null;
}

export const emptyJob: JobState = { jobId: null, mode: 'copy', layout: null, devices: [], cards: {}, batch: null, error: null };

/** A job just requested: one card per chosen drive, nothing known yet. */
export function pendingJob(targets: JobTarget[], mode: 'copy' | 'verify'): JobState {
  const cards: Record<string, CardRun> = {};
  for (const target of targets) cards[target.device] = { device: target.device, target, ranges: [], progress: null, report: null };
  return { ...emptyJob, mode, devices: targets.map((t) => t.device), cards };
}

/** True when the event belongs to the job (a job without an id yet adopts the first job that speaks). */
export function isEventForJob(job: JobState, event: FlashEvent): boolean {
  return job.jobId === null || job.jobId === event.jobId;
}

function applyChanges(ranges: RangeLive[], changes: readonly RangeChange[]): RangeLive[] {
  if (changes.length === 0) return ranges;
  const next = ranges.slice();
  for (const change of changes) {
    const before = next[change.index] ?? pendingRange;
    const settled = change.state === 'verified' || change.state === 'written' || change.state === 'failed';
    next[change.index] = {
      state: change.state,
      retries: change.retries,
      // A range that starts again (a rewrite) restarts its progress; a settled one keeps the last figure.
      doneBytes: change.doneBytes ?? (change.state === before.state || settled ? before.doneBytes : null),
      badBlocks: change.badBlocks ?? before.badBlocks,
      retriedSpans: change.retriedSpans ?? before.retriedSpans,
    };
  }
  return next;
}

/** Every range as the report has it: the report is the truth once a card is done. */
function rangesFromReport(layout: FlashLayout | null, report: FlashReport, before: RangeLive[]): RangeLive[] {
  const count = Math.max(before.length, layout ? layout.ranges.reduce((max, r) => Math.max(max, r.index + 1), 0) : 0);
  const next = before.length === count ? before.slice() : Array.from({ length: count }, (_, i) => before[i] ?? pendingRange);
  for (const range of report.ranges) {
    next[range.index] = {
      state: range.state,
      retries: range.retries,
      doneBytes: range.state === 'pending' ? 0 : range.bytes,
      badBlocks: range.badBlocks ?? null,
      retriedSpans: range.retriedSpans ?? null,
    };
  }
  return next;
}

function withCard(job: JobState, device: string, update: (card: CardRun) => CardRun): JobState {
  const card = job.cards[device];
  if (!card) return job;
  return { ...job, cards: { ...job.cards, [device]: update(card) } };
}

/** The card a report belongs to: by its target path, else the n-th card. */
function cardForReport(job: JobState, report: FlashReport, position: number): string | undefined {
  const byPath = job.devices.find((d) => d === report.target.path);
  return byPath ?? job.devices[position];
}

/** Folds one event into the job; events of other jobs leave it unchanged. */
export function applyFlashEvent(job: JobState, event: FlashEvent): JobState {
  if (!isEventForJob(job, event)) return job;
  const named = job.jobId === event.jobId ? job : { ...job, jobId: event.jobId };
  switch (event.type) {
    case 'started': {
      const count = event.layout.ranges.reduce((max, r) => Math.max(max, r.index + 1), 0);
      const cards: Record<string, CardRun> = {};
      for (const target of event.targets) {
        cards[target.device] = { device: target.device, target, ranges: new Array<RangeLive>(count).fill(pendingRange), progress: null, report: null };
      }
      return { ...named, layout: event.layout, devices: event.targets.map((t) => t.device), cards };
    }
    case 'progress':
      return withCard(named, event.device, (card) => ({ ...card, progress: event.progress, ranges: applyChanges(card.ranges, event.progress.rangeChanges) }));
    case 'target-done':
      return withCard(named, event.device, (card) => ({ ...card, report: event.report, ranges: rangesFromReport(named.layout, event.report, card.ranges) }));
    case 'done': {
      let next: JobState = { ...named, batch: event.report };
      event.report.cards.forEach((report, position) => {
        const device = cardForReport(next, report, position);
        if (device === undefined) return;
        next = withCard(next, device, (card) => (card.report ? card : { ...card, report, ranges: rangesFromReport(next.layout, report, card.ranges) }));
      });
      if (event.report.cards.length === 0) next = { ...next, error: { code: 'INTERNAL', message: 'The job ended without any card report.' } };
      return next;
    }
    case 'error':
      return { ...named, error: event.error };
  }
}

/** True once the job has ended, with a batch report or an error. */
export const isJobOver = (job: JobState): boolean => job.batch !== null || job.error !== null;

/** The job's cards in order. */
export const jobCards = (job: JobState): CardRun[] => job.devices.map((d) => job.cards[d]).filter((c): c is CardRun => c !== undefined);
