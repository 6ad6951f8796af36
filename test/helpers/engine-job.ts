/**
 * Runs engine jobs in-process (runJob, the same code the worker runs) for tests that want the report
 * objects directly, with sensible defaults for the job fields. `target` is the one-card shorthand.
 */
import { runJob } from '../../src/main/engine/run-job';
import type { FlashJob } from '../../src/main/engine/protocol';
import type { BatchReport, FlashLayout, FlashProgress, FlashReport } from '../../src/shared/report';
import { unpackBatchReport } from '../../src/shared/range-table';

export interface JobRun {
  /** The first card's report. */
  report: FlashReport;
  batch: BatchReport;
  layout: FlashLayout | null;
  /** The first card's progress events. */
  progress: FlashProgress[];
}

export type EngineJobInput = Partial<Omit<FlashJob, 'targets'>> & Pick<FlashJob, 'image'> & ({ target: string } | { targets: FlashJob['targets'] });

export async function runEngine(job: EngineJobInput, signal?: AbortSignal, onProgress?: (progress: FlashProgress) => void): Promise<JobRun> {
  const progress: FlashProgress[] = [];
  let layout: FlashLayout | null = null;
  const { target, targets, ...rest } = job as Partial<FlashJob> & { target?: string; image: string };
  const full: FlashJob = {
    mode: 'copy',
    readback: true,
    verifySource: true,
    retries: 0,
    decoder: 'auto',
    ...rest,
    targets: targets ?? [{ path: target as string }],
  };
  const packed = await runJob(
    full,
    {
      started: (l) => (layout = l),
      progress: (index, p) => {
        if (index !== 0) return;
        progress.push(p);
        onProgress?.(p);
      },
      targetDone: () => undefined,
      log: () => undefined,
    },
    signal ?? new AbortController().signal,
  );
  // The engine packs each card's ranges; unpacked here, as the worker client does for its callers.
  const batch = unpackBatchReport(packed);
  return { report: batch.cards[0] as FlashReport, batch, layout, progress };
}
