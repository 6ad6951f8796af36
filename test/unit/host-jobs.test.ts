import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ApiEvent, FlashEvent } from '../../src/shared/api';
import type { BatchReport, FlashReport } from '../../src/shared/report';
import type { HostEventMessage } from '../../src/shared/host-protocol';
import type { HostClient } from '../../src/main/host/host-client';
import { createHostJobs } from '../../src/main/host/host-jobs';

const dir = mkdtempSync(join(tmpdir(), 'sureflash-host-jobs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function page(id: number) {
  const got: FlashEvent[] = [];
  const client = {
    id,
    closed: false,
    listens: (event: ApiEvent) => event === 'flash',
    push: (message: HostEventMessage) => (message.event === 'flash' && !client.closed ? (got.push(message.payload), true) : false),
  };
  return { client: client as HostClient & { closed: boolean }, got };
}

function flashService() {
  const listeners = new Set<(event: FlashEvent) => void>();
  const cancelled: string[] = [];
  return {
    cancelled,
    emit: (event: FlashEvent) => listeners.forEach((l) => l(event)),
    service: {
      subscribe: (l: (event: FlashEvent) => void) => (listeners.add(l), () => void listeners.delete(l)),
      cancel: (jobId: string) => void cancelled.push(jobId),
    },
  };
}

const progress = (jobId: string): FlashEvent => ({ type: 'progress', jobId, device: '/dev/loop9', progress: { bytesDone: 1 } as never });
const done = (jobId: string, status: FlashReport['status']): FlashEvent => ({ type: 'done', jobId, report: { status } as unknown as BatchReport });

async function waitForFile(path: string): Promise<string> {
  while (!existsSync(path)) await new Promise((resolve) => setTimeout(resolve, 10));
  return readFileSync(path, 'utf8');
}

describe('host jobs', () => {
  it('sends a job\'s events to the page that started it only, holding early ones until its flash call returned', () => {
    const flash = flashService();
    const jobs = createHostJobs({ flash: flash.service, reportDir: join(dir, 'a'), log: () => undefined });
    const owner = page(1);
    const other = page(2);
    flash.emit(progress('j1'));
    jobs.adopt(owner.client, 'j1');
    flash.emit(done('j1', 'verified'));
    expect(owner.got).toEqual([progress('j1'), done('j1', 'verified')]);
    expect(other.got).toEqual([]);
    jobs.stop();
  });

  it('cancels the running jobs of a page that went away and writes their reports; finished ones are left alone', async () => {
    const flash = flashService();
    const lines: string[] = [];
    const reportDir = join(dir, 'orphans');
    const jobs = createHostJobs({ flash: flash.service, reportDir, log: (l) => lines.push(l) });
    const owner = page(1);
    jobs.adopt(owner.client, 'running');
    jobs.adopt(owner.client, 'finished');
    flash.emit(done('finished', 'verified'));
    owner.client.closed = true;
    jobs.release(owner.client);
    expect(flash.cancelled).toEqual(['running']);
    flash.emit(done('running', 'cancelled'));
    const path = join(reportDir, 'sureflash-report-running.json');
    expect(JSON.parse(await waitForFile(path))).toEqual({ status: 'cancelled' });
    expect(existsSync(join(reportDir, 'sureflash-report-finished.json'))).toBe(false);
    while (!lines.some((l) => l.includes('report written'))) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(lines).toEqual([
      `page 1 went away during job running: cancelling it; its report goes to ${reportDir}`,
      `job running ended (cancelled) after its page went away: report written to ${path}`,
    ]);
  });

  it('a page gone before its flash call returned: the job is cancelled at once; an error is written as such', async () => {
    const flash = flashService();
    const reportDir = join(dir, 'early');
    const jobs = createHostJobs({ flash: flash.service, reportDir, log: () => undefined });
    const owner = page(3);
    owner.client.closed = true;
    flash.emit(progress('j3'));
    jobs.adopt(owner.client, 'j3');
    expect(flash.cancelled).toEqual(['j3']);
    flash.emit({ type: 'error', jobId: 'j3', error: { code: 'DEVICE_LOST', message: 'gone' } });
    expect(JSON.parse(await waitForFile(join(reportDir, 'sureflash-report-j3.json')))).toEqual({ jobId: 'j3', error: { code: 'DEVICE_LOST', message: 'gone' } });
  });

  it('a job that ended before its page (already gone) was known still gets its report written', async () => {
    const flash = flashService();
    const reportDir = join(dir, 'ended-early');
    const jobs = createHostJobs({ flash: flash.service, reportDir, log: () => undefined });
    const owner = page(4);
    flash.emit(done('j4', 'verified'));
    owner.client.closed = true;
    jobs.adopt(owner.client, 'j4');
    expect(flash.cancelled).toEqual([]);
    expect(JSON.parse(await waitForFile(join(reportDir, 'sureflash-report-j4.json')))).toEqual({ status: 'verified' });
  });
});
