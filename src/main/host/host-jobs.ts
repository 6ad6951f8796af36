/**
 * Which page owns which flash job in the browser host. A job's events go only to the page that started
 * it (events that come before its flash call returned are held until then). When that page goes away —
 * closed, reloaded, socket dropped — its running jobs are cancelled cleanly (the engine finishes in-flight
 * writes, flushes and reports "cancelled"), and the report of every job that ends without its page is
 * written to the host's report folder, since no page is left to save it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FlashEvent } from '../../shared/api';
import { defaultReportName } from '../services/api-core';
import type { FlashService } from '../services/types';
import type { HostClient } from './host-client';

/** Events held for a job whose flash call has not returned yet (progress is throttled: a few per second). */
const MAX_HELD_EVENTS = 256;

export interface HostJobs {
  /** `client`'s flash call returned `jobId`: the job's events go to it from now on, held ones first. */
  adopt(client: HostClient, jobId: string): void;
  /** `client` went away: cancels the jobs it owns that still run. */
  release(client: HostClient): void;
  /** Resolves once no job runs and every report of a job without its page is written. */
  idle(): Promise<void>;
  stop(): void;
}

export interface HostJobsOptions {
  flash: Pick<FlashService, 'subscribe' | 'cancel' | 'running'>;
  /** Where reports of jobs that ended without their page are written. */
  reportDir: string;
  log(line: string): void;
}

interface JobEntry {
  owner: HostClient | null;
  held: FlashEvent[];
  ended: boolean;
}

export function createHostJobs(options: HostJobsOptions): HostJobs {
  const jobs = new Map<string, JobEntry>();
  let writing = 0;
  const idleWaiters: (() => void)[] = [];
  const isIdle = (): boolean =>
    writing === 0 && (options.flash.running?.() ?? []).length === 0 && [...jobs.values()].every((entry) => entry.ended || entry.owner === null);
  const checkIdle = (): void => {
    if (idleWaiters.length > 0 && isIdle()) for (const resolve of idleWaiters.splice(0)) resolve();
  };

  const writeOrphanReport = async (event: Extract<FlashEvent, { type: 'done' | 'error' }>): Promise<void> => {
    const path = join(options.reportDir, defaultReportName(event.jobId));
    const body = event.type === 'done' ? event.report : { jobId: event.jobId, error: event.error };
    writing += 1;
    try {
      await mkdir(options.reportDir, { recursive: true });
      await writeFile(path, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o644 });
      const outcome = event.type === 'done' ? event.report.status : `error ${event.error.code}`;
      options.log(`job ${event.jobId} ended (${outcome}) after its page went away: report written to ${path}`);
    } catch (err) {
      options.log(`job ${event.jobId}: could not write its report to ${path}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      writing -= 1;
      checkIdle();
    }
  };

  const ended = (entry: JobEntry, event: FlashEvent): void => {
    if (event.type !== 'done' && event.type !== 'error') return;
    entry.ended = true;
    if (entry.owner !== null) jobs.delete(event.jobId);
    if (entry.owner !== null && entry.owner.closed) void writeOrphanReport(event);
  };

  const deliver = (entry: JobEntry, event: FlashEvent): void => {
    if (entry.owner === null) {
      if (entry.held.length >= MAX_HELD_EVENTS) {
        const progress = entry.held.findIndex((e) => e.type === 'progress');
        entry.held.splice(progress >= 0 ? progress : 0, 1);
      }
      entry.held.push(event);
    } else if (!entry.owner.closed) {
      entry.owner.push({ kind: 'event', event: 'flash', payload: event });
    }
    ended(entry, event);
  };

  const off = options.flash.subscribe((event) => {
    let entry = jobs.get(event.jobId);
    if (entry === undefined) {
      entry = { owner: null, held: [], ended: false };
      jobs.set(event.jobId, entry);
    }
    deliver(entry, event);
    // The flash service drops a job from running() after its last event: look again once it did.
    if (event.type === 'done' || event.type === 'error') setImmediate(checkIdle);
  });

  const release = (client: HostClient): void => {
    for (const [jobId, entry] of jobs) {
      if (entry.owner !== client || entry.ended) continue;
      options.log(`page ${client.id} went away during job ${jobId}: cancelling it; its report goes to ${options.reportDir}`);
      options.flash.cancel(jobId);
    }
  };

  return {
    adopt(client, jobId) {
      const entry = jobs.get(jobId) ?? { owner: null, held: [], ended: false };
      jobs.set(jobId, entry);
      entry.owner = client;
      const held = entry.held.splice(0);
      entry.ended = false;
      for (const event of held) deliver(entry, event);
      if (client.closed && jobs.has(jobId)) release(client);
    },
    release,
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      }),
    stop: () => off(),
  };
}
