/**
 * The one place where renderer calls enter main: every Api invoke method as a function that takes the raw
 * (untrusted) arguments, validates them, calls the services and returns a Result. It never throws. Used by
 * the Electron ipc wrapper and the browser host alike; each transport only decides who may call.
 */
import { writeFile } from 'node:fs/promises';
import type { Api, ApiInvokeMethod } from '../../shared/api';
import { isErrorCode } from '../../shared/errors';
import { fail, ok, type Result } from '../../shared/result';
import { EngineError } from '../engine/errors';
import type { Dialogs, MainServices } from '../services/types';
import { absolutePathSchema, flashRequestSchema, imageLocationSchema, nameSchema, parseArg, requireFile, settingsPatchSchema } from './validation';

/** The value type of an invoke method's Result, e.g. `ImageInfo` for probeImage. */
export type InvokeValue<M extends ApiInvokeMethod> = Awaited<ReturnType<Api[M]>> extends Result<infer T> ? T : never;

/** One function per Api invoke method, taking raw arguments and resolving to a Result (never rejecting). */
export type ApiCore = { [M in ApiInvokeMethod]: (...args: unknown[]) => Promise<Result<InvokeValue<M>>> };

export interface ApiCoreOptions {
  /** Receives unexpected errors (the renderer only sees a safe INTERNAL message). */
  onInternalError?(method: ApiInvokeMethod, err: unknown): void;
}

const INTERNAL_MESSAGE = 'Something went wrong inside Sureflash. Try again; if it keeps happening, restart the app.';

/** Maps anything thrown to an ApiError: coded errors keep their code and message, the rest become INTERNAL. */
export function errorToResult(err: unknown): Result<never> | null {
  if (err instanceof EngineError) return fail(err.code, err.message);
  if (err instanceof Error && 'code' in err && isErrorCode(err.code)) return fail(err.code, err.message);
  return null;
}

/** File name offered when saving a job's report. */
export function defaultReportName(jobId: string): string {
  const safe = jobId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 40) || 'job';
  return `sureflash-report-${safe}.json`;
}

export function createApiCore(services: MainServices, dialogs: Dialogs, options: ApiCoreOptions = {}): ApiCore {
  const wrap =
    <M extends ApiInvokeMethod>(method: M, body: (args: unknown[]) => Promise<InvokeValue<M>>) =>
    async (...args: unknown[]): Promise<Result<InvokeValue<M>>> => {
      try {
        return ok(await body(args));
      } catch (err) {
        const coded = errorToResult(err);
        if (coded) return coded;
        options.onInternalError?.(method, err);
        return fail('INTERNAL', INTERNAL_MESSAGE);
      }
    };

  const probe = async (raw: unknown) => {
    const path = parseArg(imageLocationSchema, raw, 'path');
    await requireFile(path);
    return services.images.probe(path);
  };

  return {
    listDrives: wrap('listDrives', () => services.drives.list()),
    pickImage: wrap('pickImage', async () => {
      const chosen = await dialogs.pickImage();
      return chosen === null ? null : probe(chosen);
    }),
    probeImage: wrap('probeImage', ([path]) => probe(path)),
    getSettings: wrap('getSettings', () => services.settings.get()),
    setSettings: wrap('setSettings', ([patch]) => services.settings.set(parseArg(settingsPatchSchema, patch, 'settings'))),
    flash: wrap('flash', async ([raw]) => {
      const request = parseArg(flashRequestSchema, raw, 'request');
      await requireFile(request.imagePath);
      if (typeof request.bmapPath === 'string') await requireFile(request.bmapPath, 'BMAP_NOT_FOUND');
      return services.flash.start(request);
    }),
    cancel: wrap('cancel', async ([jobId, device]) => {
      services.flash.cancel(parseArg(nameSchema, jobId, 'jobId'), device === undefined ? undefined : parseArg(nameSchema, device, 'device'));
      return null;
    }),
    getAppInfo: wrap('getAppInfo', () => services.app.info()),
    saveReport: wrap('saveReport', async ([raw]) => {
      const jobId = parseArg(nameSchema, raw, 'jobId');
      const report = services.flash.report(jobId);
      if (!report) throw new EngineError('USAGE', 'There is no finished report for this job yet.');
      const chosen = await dialogs.saveReportPath(defaultReportName(jobId));
      if (chosen === null) return null;
      const path = parseArg(absolutePathSchema, chosen, 'report path');
      try {
        await writeFile(path, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o644 });
      } catch (err) {
        const reason = err instanceof Error && 'code' in err ? String(err.code) : 'write failed';
        throw new EngineError('WRITE_FAILED', `Could not save the report to ${path} (${reason}). Choose another folder.`);
      }
      return path;
    }),
  };
}
