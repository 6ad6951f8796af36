/**
 * The one place where renderer calls enter main: every Api invoke method as a function that takes the raw
 * (untrusted) arguments, parses them with their schemas (API_ARGS: count and every value, before the body
 * runs), calls the services and returns a Result. It never throws. Used by the Electron ipc wrapper and the
 * browser host alike; each transport only decides who may call.
 */
import { writeFile } from 'node:fs/promises';
import type { Api, ApiInvokeMethod } from '../../shared/api';
import { isErrorCode } from '../../shared/errors';
import { fail, ok, type Result } from '../../shared/result';
import { EngineError } from '../engine/errors';
import type { Dialogs, MainServices } from '../services/types';
import { absolutePathSchema, parseArg, parseArgs, requireFile, type ParsedArgs } from './api-validation';

/** The value type of an invoke method's Result, e.g. `ImageInfo` for probeImage. */
export type InvokeValue<M extends ApiInvokeMethod> = Awaited<ReturnType<Api[M]>> extends Result<infer T> ? T : never;

/** One function per Api invoke method, taking raw arguments and resolving to a Result (never rejecting). */
export type ApiCore = { [M in ApiInvokeMethod]: (...args: unknown[]) => Promise<Result<InvokeValue<M>>> };

export interface ApiCoreOptions {
  /** Receives unexpected errors (the renderer only sees a safe INTERNAL message). */
  onInternalError?(method: ApiInvokeMethod, err: unknown): void;
  /**
   * Takes the answer to a ConfirmRequest this transport pushed (the browser host); throws a coded error for
   * an id that is not waiting. Absent in the Electron shell, which asks natively: every answer is refused.
   */
  answerConfirm?(id: string, accepted: boolean): void;
}

/** The refusal of an answer to a question that is not waiting (answered already, timed out, never asked). */
export const NOT_WAITING_MESSAGE = 'No question with this id is waiting for an answer: it was answered already, timed out, or was never asked.';

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
    <M extends ApiInvokeMethod>(method: M, body: (...args: ParsedArgs<M>) => Promise<InvokeValue<M>>) =>
    async (...raw: unknown[]): Promise<Result<InvokeValue<M>>> => {
      try {
        return ok(await body(...parseArgs(method, raw)));
      } catch (err) {
        const coded = errorToResult(err);
        if (coded) return coded;
        options.onInternalError?.(method, err);
        return fail('INTERNAL', INTERNAL_MESSAGE);
      }
    };

  const probe = async (path: string) => {
    await requireFile(path);
    return services.images.probe(path);
  };

  return {
    listDrives: wrap('listDrives', () => services.drives.list()),
    pickImage: wrap('pickImage', async () => {
      const chosen = await dialogs.pickImage();
      return chosen === null ? null : probe(parseArg(absolutePathSchema, chosen, 'path'));
    }),
    probeImage: wrap('probeImage', (path) => probe(path)),
    getSettings: wrap('getSettings', () => services.settings.get()),
    setSettings: wrap('setSettings', (patch) => services.settings.set(patch)),
    flash: wrap('flash', async (request) => {
      await requireFile(request.imagePath);
      if (typeof request.bmapPath === 'string') await requireFile(request.bmapPath, 'BMAP_NOT_FOUND');
      return services.flash.start(request);
    }),
    cancel: wrap('cancel', async (jobId, device) => {
      services.flash.cancel(jobId, device);
      return null;
    }),
    getAppInfo: wrap('getAppInfo', () => services.app.info()),
    saveReport: wrap('saveReport', async (jobId) => {
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
    armStation: wrap('armStation', async (request) => {
      await requireFile(request.imagePath);
      if (typeof request.bmapPath === 'string') await requireFile(request.bmapPath, 'BMAP_NOT_FOUND');
      return services.station.arm(request);
    }),
    stopStation: wrap('stopStation', async (cancel) => services.station.stop(cancel === true)),
    cancelStationCard: wrap('cancelStationCard', async (card) => {
      services.station.cancelCard(card);
      return null;
    }),
    stationStatus: wrap('stationStatus', async () => services.station.status()),
    historyCards: wrap('historyCards', () => services.history.cards()),
    cardHistory: wrap('cardHistory', (cardId) => services.history.card(cardId)),
    answerConfirm: wrap('answerConfirm', async (id, accepted) => {
      if (!options.answerConfirm) throw new EngineError('USAGE', NOT_WAITING_MESSAGE);
      options.answerConfirm(id, accepted);
      return null;
    }),
  };
}
