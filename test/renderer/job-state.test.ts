import { describe, expect, it } from 'vitest';
import { applyFlashEvent, emptyJob, isJobOver } from '../../src/renderer/store/job-state';
import type { FlashProgress } from '../../src/shared/report';
import { layout, report, targets, batch } from './fake-api';

const progress = (changes: FlashProgress['rangeChanges'], retries = 0): FlashProgress => ({
  phase: 'writing',
  bytesDone: 4096,
  bytesTotal: layout.mappedBytes,
  speed: 1e6,
  etaSeconds: 3,
  retries,
  rangeChanges: changes,
});

describe('applyFlashEvent', () => {
  it('lays out every range as pending when the job starts, adopting its id', () => {
    const job = applyFlashEvent(emptyJob, { type: 'started', jobId: 'a', layout, targets });
    expect(job.jobId).toBe('a');
    expect(job.layout).toBe(layout);
    expect(job.rangeStates).toEqual(['pending', 'pending', 'pending']);
    expect(job.rangeRetries).toEqual([0, 0, 0]);
    expect(isJobOver(job)).toBe(false);
  });

  it('recolours only the ranges a progress event names, in order', () => {
    let job = applyFlashEvent(emptyJob, { type: 'started', jobId: 'a', layout, targets });
    job = applyFlashEvent(job, {
      type: 'progress',
      jobId: 'a',
      device: '/dev/sdb',
      progress: progress([
        { index: 0, state: 'writing', retries: 0 },
        { index: 0, state: 'verified', retries: 0 },
        { index: 2, state: 'retrying', retries: 2 },
      ], 2),
    });
    expect(job.rangeStates).toEqual(['verified', 'pending', 'retrying']);
    expect(job.rangeRetries).toEqual([0, 0, 2]);
    expect(job.progress?.retries).toBe(2);
  });

  it('ignores events of another job', () => {
    const job = applyFlashEvent(emptyJob, { type: 'started', jobId: 'a', layout, targets });
    const other = applyFlashEvent(job, { type: 'progress', jobId: 'b', device: '/dev/sdb', progress: progress([{ index: 1, state: 'failed', retries: 3 }]) });
    expect(other).toBe(job);
  });

  it('takes the final state of every range from the report when done', () => {
    let job = applyFlashEvent(emptyJob, { type: 'started', jobId: 'a', layout, targets });
    job = applyFlashEvent(job, { type: 'progress', jobId: 'a', device: '/dev/sdb', progress: progress([{ index: 1, state: 'retrying', retries: 1 }]) });
    const final = report('failed', [{}, { state: 'failed', retries: 3, badBlocks: [{ first: 104, last: 105 }] }, {}]);
    job = applyFlashEvent(job, { type: 'done', jobId: 'a', report: batch(final) });
    expect(job.report).toBe(final);
    expect(job.rangeStates).toEqual(['verified', 'failed', 'verified']);
    expect(job.rangeRetries).toEqual([0, 3, 0]);
    expect(isJobOver(job)).toBe(true);
  });

  it('ends the job with the error when the engine could not report', () => {
    const job = applyFlashEvent(emptyJob, { type: 'error', jobId: 'a', error: { code: 'DEVICE_LOST', message: '/dev/sdz vanished' } });
    expect(job.error?.code).toBe('DEVICE_LOST');
    expect(isJobOver(job)).toBe(true);
  });
});
