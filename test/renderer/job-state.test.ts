import { describe, expect, it } from 'vitest';
import { applyFlashEvent, emptyJob, isJobOver, jobCards, pendingJob } from '../../src/renderer/store/job-state';
import type { JobTarget } from '../../src/shared/api';
import type { FlashProgress } from '../../src/shared/report';
import { batch, layout, report, targets } from './fake-api';

const progress = (changes: FlashProgress['rangeChanges'], retries = 0): FlashProgress => ({
  phase: 'writing',
  bytesDone: 4096,
  bytesTotal: layout.mappedBytes,
  speed: 1e6,
  etaSeconds: 3,
  retries,
  rangeChanges: changes,
});

const two: JobTarget[] = [
  { device: '/dev/sdb', description: 'Card B', size: 16e9, identity: null },
  { device: '/dev/sdc', description: 'Card C', size: 16e9, identity: null },
];
const states = (job: ReturnType<typeof applyFlashEvent>, device: string) => job.cards[device]?.ranges.map((r) => r.state);

describe('applyFlashEvent', () => {
  it('lays out every range as pending on every card when the job starts, adopting its id', () => {
    const job = applyFlashEvent(pendingJob(two, 'copy'), { type: 'started', jobId: 'a', layout, targets: two });
    expect(job.jobId).toBe('a');
    expect(job.layout).toBe(layout);
    expect(jobCards(job).map((c) => c.device)).toEqual(['/dev/sdb', '/dev/sdc']);
    expect(states(job, '/dev/sdc')).toEqual(['pending', 'pending', 'pending']);
    expect(isJobOver(job)).toBe(false);
  });

  it('updates only the card a progress event names, ranges in order, with progress inside a range', () => {
    let job = applyFlashEvent(pendingJob(two, 'copy'), { type: 'started', jobId: 'a', layout, targets: two });
    job = applyFlashEvent(job, {
      type: 'progress',
      jobId: 'a',
      device: '/dev/sdc',
      progress: progress([
        { index: 0, state: 'writing', retries: 0, doneBytes: 4096 },
        { index: 0, state: 'verified', retries: 0 },
        { index: 2, state: 'retrying', retries: 2, retriedSpans: [{ first: 201, last: 201 }] },
        { index: 1, state: 'writing', retries: 0, doneBytes: 8192 },
      ], 2),
    });
    expect(states(job, '/dev/sdc')).toEqual(['verified', 'writing', 'retrying']);
    expect(job.cards['/dev/sdc']?.ranges[1]?.doneBytes).toBe(8192);
    expect(job.cards['/dev/sdc']?.ranges[2]?.retriedSpans).toEqual([{ first: 201, last: 201 }]);
    expect(job.cards['/dev/sdc']?.progress?.retries).toBe(2);
    expect(states(job, '/dev/sdb')).toEqual(['pending', 'pending', 'pending']);
  });

  it('turns one card into its report when it finishes while the other goes on', () => {
    let job = applyFlashEvent(pendingJob(two, 'copy'), { type: 'started', jobId: 'a', layout, targets: two });
    const failed = report('failed', [{}, { state: 'failed', retries: 3, badBlocks: [{ first: 104, last: 105 }] }, {}], { target: { path: '/dev/sdb', size: 16e9, kind: 'block-device' } });
    job = applyFlashEvent(job, { type: 'target-done', jobId: 'a', device: '/dev/sdb', report: failed });
    expect(job.cards['/dev/sdb']?.report).toBe(failed);
    expect(states(job, '/dev/sdb')).toEqual(['verified', 'failed', 'verified']);
    expect(job.cards['/dev/sdb']?.ranges[1]?.badBlocks).toEqual([{ first: 104, last: 105 }]);
    expect(job.cards['/dev/sdc']?.report).toBeNull();
    expect(isJobOver(job)).toBe(false);
  });

  it('ignores events of another job', () => {
    const job = applyFlashEvent(emptyJob, { type: 'started', jobId: 'a', layout, targets });
    const other = applyFlashEvent(job, { type: 'progress', jobId: 'b', device: '/dev/sdb', progress: progress([{ index: 1, state: 'failed', retries: 3 }]) });
    expect(other).toBe(job);
  });

  it('takes every card from the batch report when done, by target path', () => {
    let job = applyFlashEvent(pendingJob(two, 'copy'), { type: 'started', jobId: 'a', layout, targets: two });
    job = applyFlashEvent(job, { type: 'progress', jobId: 'a', device: '/dev/sdb', progress: progress([{ index: 1, state: 'retrying', retries: 1 }]) });
    const c = report('verified', [], { target: { path: '/dev/sdc', size: 16e9, kind: 'block-device' } });
    const b = report('cancelled', [{}, { state: 'pending' }, { state: 'pending' }], { target: { path: '/dev/sdb', size: 16e9, kind: 'block-device' } });
    job = applyFlashEvent(job, { type: 'done', jobId: 'a', report: batch(c, b) });
    expect(job.cards['/dev/sdb']?.report).toBe(b);
    expect(job.cards['/dev/sdc']?.report).toBe(c);
    expect(states(job, '/dev/sdb')).toEqual(['verified', 'pending', 'pending']);
    expect(isJobOver(job)).toBe(true);
  });

  it('ends the job with the error when the engine could not report', () => {
    const job = applyFlashEvent(emptyJob, { type: 'error', jobId: 'a', error: { code: 'DEVICE_LOST', message: '/dev/sdz vanished' } });
    expect(job.error?.code).toBe('DEVICE_LOST');
    expect(isJobOver(job)).toBe(true);
  });
});
