/**
 * Runs engine jobs in-process (runJob, the same code the worker runs) for tests that want the report
 * object directly, with sensible defaults for the job fields.
 */
import { runJob } from '../../src/main/engine/run-job';
import type { FlashJob } from '../../src/main/engine/protocol';
import type { FlashLayout, FlashProgress, FlashReport } from '../../src/shared/report';

export interface JobRun {
  report: FlashReport;
  layout: FlashLayout | null;
  progress: FlashProgress[];
}

export async function runEngine(
  job: Partial<FlashJob> & Pick<FlashJob, 'image' | 'target'>,
  signal?: AbortSignal,
  onProgress?: (progress: FlashProgress) => void,
): Promise<JobRun> {
  const progress: FlashProgress[] = [];
  let layout: FlashLayout | null = null;
  const full: FlashJob = { mode: 'copy', readback: true, verifySource: true, retries: 0, decoder: 'auto', ...job };
  const report = await runJob(
    full,
    { started: (l) => (layout = l), progress: (p) => {
        progress.push(p);
        onProgress?.(p);
      }, log: () => undefined },
    signal ?? new AbortController().signal,
  );
  return { report, layout, progress };
}
