/**
 * What the shell shows around a flash outside the page: the taskbar/dock progress bar, a notification
 * at the end (when the setting is on), and which jobs are still running (to confirm before closing).
 * Electron parts come in as small interfaces so the logic is testable with plain objects.
 */
import type { FlashEvent } from '../../shared/api';
import { nextStep } from '../../shared/errors';
import type { BatchReport } from '../../shared/report';

export interface FeedbackTarget {
  setProgressBar(progress: number, options?: { mode: 'none' | 'normal' | 'indeterminate' | 'error' | 'paused' }): void;
}

export interface FlashFeedback {
  handle(event: FlashEvent): void;
  /** Jobs started and not yet ended. */
  activeJobs(): string[];
}

/** Title and body of the end-of-job notification. */
export function endMessage(event: Extract<FlashEvent, { type: 'done' | 'error' }>): { title: string; body: string } {
  if (event.type === 'error') return { title: 'Flash failed', body: `${event.error.message} ${nextStep(event.error.code)}` };
  const report: BatchReport = event.report;
  const several = report.cards.length > 1;
  const firstError = report.cards.find((c) => c.error)?.error;
  switch (report.status) {
    case 'verified':
      return {
        title: 'Flash complete',
        body: several
          ? `All ${report.cards.length} drives verified: every written block was read back and matched.`
          : 'Every written block was read back from the drive and matched.',
      };
    case 'written-unverified':
      return { title: 'Flash written', body: 'The image was written; read-back verification was off.' };
    case 'cancelled':
      return { title: 'Flash cancelled', body: nextStep('CANCELLED') };
    default:
      if (several) return { title: 'Flash failed', body: `${report.summary.failed} of ${report.cards.length} drives failed; ${report.summary.verified} verified.` };
      return { title: 'Flash failed', body: firstError ? `${firstError.message} ${nextStep(firstError.code)}` : 'Some blocks did not hold.' };
  }
}

export function createFlashFeedback(
  getTarget: () => FeedbackTarget | null,
  notify: (title: string, body: string) => Promise<void> | void,
): FlashFeedback {
  const active = new Set<string>();
  return {
    handle: (event) => {
      const target = getTarget();
      switch (event.type) {
        case 'started':
          active.add(event.jobId);
          target?.setProgressBar(0, { mode: 'normal' });
          break;
        case 'progress': {
          active.add(event.jobId);
          const { bytesDone, bytesTotal } = event.progress;
          if (bytesTotal > 0) target?.setProgressBar(Math.min(1, bytesDone / bytesTotal), { mode: 'normal' });
          else target?.setProgressBar(2, { mode: 'indeterminate' });
          break;
        }
        case 'done':
        case 'error': {
          active.delete(event.jobId);
          const failed = event.type === 'error' || event.report.status === 'failed';
          if (active.size === 0) target?.setProgressBar(failed ? 1 : -1, { mode: failed ? 'error' : 'none' });
          const { title, body } = endMessage(event);
          void Promise.resolve(notify(title, body)).catch(() => undefined);
          break;
        }
      }
    },
    activeJobs: () => [...active],
  };
}
