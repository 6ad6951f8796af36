/**
 * The renderer's one store: what the user chose, the drive list, settings and the running job. Every
 * action goes through the Api; rules and formatting live in src/shared and src/renderer/model, not here.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { DEFAULT_SETTINGS, type Api, type AppInfo, type ConfirmRequest, type DriveInfo, type ImageInfo, type JobTarget, type Settings } from '../../shared/api';
import { MAX_RETRIES } from '../../shared/retry-limit';
import type { ApiError, Result } from '../../shared/result';
import { autoSelectDevice } from './auto-select';
import { applyFlashEvent, emptyJob, isJobOver, jobCards, pendingJob, type JobState } from './job-state';
import { createStationSlice, type StationSlice } from './station-slice';
import type { VerdictAlerts } from './verdict-alert';

export type Screen = 'setup' | 'flashing' | 'final';
export type Panel = 'settings' | 'about' | null;
export type FlashMode = 'copy' | 'verify';

export interface AppState extends StationSlice {
  screen: Screen;
  image: ImageInfo | null;
  imageBusy: boolean;
  /** Why the last image choice failed, in words a user can act on. */
  imageError: string | null;
  drives: DriveInfo[];
  drivesError: string | null;
  /** Device paths of the chosen targets, in the order chosen; drives that disappear drop out. */
  devices: string[];
  /** The device chosen automatically (its reason is shown), or null when the user chose. */
  autoSelected: string | null;
  settings: Settings;
  /** Why the last settings change was refused. */
  settingsError: string | null;
  job: JobState;
  /** Why the flash could not start (validation, drive rules), shown on the setup screen. */
  flashError: ApiError | null;
  /** Cancel was asked for the whole job, or for these cards. */
  cancelling: boolean;
  cancellingDevices: string[];
  savedReportPath: string | null;
  saveError: string | null;
  /** Set when the transport to main is gone (the browser host stopped); shown above everything. */
  connectionError: string | null;
  panel: Panel;
  appInfo: AppInfo | null;
  /** Main's questions waiting for the user, oldest first (browser host only). */
  confirmRequests: ConfirmRequest[];

  /** Subscribes to drives and flash events and loads settings; returns the cleanup. */
  init(): () => void;
  pickImage(): Promise<void>;
  /** A file dropped on the image step. */
  dropFile(file: File): Promise<void>;
  /** A link typed, pasted or dropped: main probes it (http or https). */
  openUrl(url: string): Promise<void>;
  /** The user's choice of targets (replaces any automatic one). */
  selectDevices(devices: string[]): void;
  /** Saves a settings change; out-of-range values are refused with the reason in settingsError. */
  updateSettings(patch: Partial<Settings>): Promise<boolean>;
  /** Starts the job; `acknowledged` are the drive warnings the user confirmed. */
  flash(acknowledged: string[], mode?: FlashMode): Promise<void>;
  /** Cancels the whole job, or one card of it. */
  cancel(device?: string): Promise<void>;
  saveReport(): Promise<void>;
  /** Back to the setup screen with the same image and no target armed. */
  flashAnother(): void;
  /** Runs the job again on the cards that did not end verified (those still connected). */
  flashFailedAgain(): Promise<void>;
  openPanel(panel: Panel): void;
  /** Answers the oldest of main's questions. */
  answerConfirm(accepted: boolean): Promise<void>;
  connectionLost(message: string): void;
}

const describe = (error: ApiError): string => error.message;

/** Failures of the image itself: flashing the same image again would fail the same way. */
const IMAGE_FAULTS: readonly string[] = ['SOURCE_CHECKSUM_MISMATCH', 'SOURCE_CORRUPT', 'SOURCE_TRUNCATED', 'IMAGE_SIZE_MISMATCH', 'CHECKSUM_MISMATCH', 'SIGNATURE_INVALID', 'SIGNATURE_UNKNOWN_KEY'];

/**
 * Cards of the last job worth flashing again: those that did not end verified (written-unverified counts
 * as done), except where the image itself was at fault.
 */
export function failedDevices(job: JobState): string[] {
  return jobCards(job)
    .filter((card) => {
      const status = card.report?.status ?? (job.error ? 'failed' : null);
      const error = card.report?.error ?? job.error;
      const imageFault = (error && IMAGE_FAULTS.includes(error.code)) || card.report?.ranges.some((r) => r.state === 'source-mismatch');
      return (status === 'failed' || status === 'cancelled') && !imageFault;
    })
    .map((card) => card.device);
}

/** Checks a settings change before it is sent: the reason it is refused, or null. */
export function settingsProblem(patch: Partial<Settings>): string | null {
  if (patch.retries !== undefined && (!Number.isInteger(patch.retries) || patch.retries < 0 || patch.retries > MAX_RETRIES)) {
    return `Retries must be a whole number from 0 to ${MAX_RETRIES}.`;
  }
  if (patch.cacheLimitBytes !== undefined && (!Number.isInteger(patch.cacheLimitBytes) || patch.cacheLimitBytes < 0 || patch.cacheLimitBytes > 1024 ** 4)) {
    return 'The download cache takes 0 to 1024 GiB.';
  }
  return null;
}

export function createAppStore(api: Api, alerts?: VerdictAlerts): StoreApi<AppState> {
  return createStore<AppState>()((set, get) => {
    /** Jobs whose outcome the user has seen (their stray events are ignored). */
    const endedJobs = new Set<string>();
    /** Drives not to choose automatically until they are removed: flashed ones, or ones the user turned down. */
    const declined = new Set<string>();
    /** What the last job was asked with, for "Flash failed cards again". */
    let lastRequest: { acknowledged: string[]; mode: FlashMode } = { acknowledged: [], mode: 'copy' };

    /** Applies the automatic choice when nothing is chosen on the setup screen. */
    const autoSelect = (): void => {
      const { screen, devices, drives, image } = get();
      if (screen !== 'setup' || devices.length > 0) return;
      const device = autoSelectDevice(drives, image, declined);
      if (device !== null) set({ devices: [device], autoSelected: device });
    };

    const setDrives = (drives: DriveInfo[]): void => {
      const present = new Set(drives.map((d) => d.device));
      for (const device of [...declined]) if (!present.has(device)) declined.delete(device);
      set((s) => {
        const devices = s.devices.filter((d) => present.has(d));
        return { drives, drivesError: null, devices, autoSelected: s.autoSelected !== null && present.has(s.autoSelected) ? s.autoSelected : null };
      });
      autoSelect();
    };

    const applySettings = (result: Result<Settings>): void => {
      if (result.ok) set({ settings: result.value, settingsError: null });
      else set({ settingsError: describe(result.error) });
    };

    const useImage = (result: Result<ImageInfo | null>): void => {
      if (!result.ok) set({ imageBusy: false, imageError: describe(result.error) });
      else if (result.value === null) set({ imageBusy: false });
      else set({ imageBusy: false, imageError: null, image: result.value });
      autoSelect();
    };

    const targetsOf = (devices: string[]): JobTarget[] =>
      devices.map((device) => {
        const drive = get().drives.find((d) => d.device === device);
        return { device, description: drive?.description ?? device, size: drive?.size ?? null, identity: drive?.identity ?? null };
      });

    return {
      ...createStationSlice(api, set, get, alerts),
      screen: 'setup',
      image: null,
      imageBusy: false,
      imageError: null,
      drives: [],
      drivesError: null,
      devices: [],
      autoSelected: null,
      settings: DEFAULT_SETTINGS,
      settingsError: null,
      job: emptyJob,
      flashError: null,
      cancelling: false,
      cancellingDevices: [],
      savedReportPath: null,
      saveError: null,
      connectionError: null,
      panel: null,
      appInfo: null,
      confirmRequests: [],

      init() {
        const offDrives = api.onDrives(setDrives);
        const offConfirm = api.onConfirm((request) => set((s) => ({ confirmRequests: [...s.confirmRequests, request] })));
        const offFlash = api.onFlashEvent((event) => {
          const { screen, job } = get();
          // A late event of an earlier job must not be adopted by a new one still waiting for its id.
          if (screen !== 'flashing' || endedJobs.has(event.jobId)) return;
          const next = applyFlashEvent(job, event);
          if (next === job) return;
          const over = isJobOver(next);
          if (over && next.jobId !== null) endedJobs.add(next.jobId);
          set({ job: next, screen: over ? 'final' : 'flashing' });
        });
        void api.listDrives().then((result) => {
          if (result.ok) setDrives(result.value);
          // A lost host is already said once, in the banner.
          else set((s) => ({ drivesError: s.connectionError === null ? describe(result.error) : null }));
        });
        void api.getSettings().then((result) => {
          if (result.ok) set({ settings: result.value });
        });
        void api.getAppInfo().then((result) => {
          if (result.ok) set({ appInfo: result.value });
        });
        const offStation = get().initStation();
        return () => {
          offDrives();
          offConfirm();
          offFlash();
          offStation();
        };
      },

      async pickImage() {
        set({ imageBusy: true, imageError: null });
        useImage(await api.pickImage());
      },

      async dropFile(file) {
        const path = api.pathForFile(file);
        if (path === null) {
          set({ imageError: `Cannot tell where "${file.name}" is stored on this computer. Use "Select image" instead.` });
          return;
        }
        set({ imageBusy: true, imageError: null });
        useImage(await api.probeImage(path));
      },

      async openUrl(url) {
        const text = url.trim();
        let parsed: URL | null;
        try {
          parsed = new URL(text);
        } catch {
          parsed = null;
        }
        if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
          set({ imageError: `"${text}" is not a web link: paste an address that starts with https:// or http://.` });
          return;
        }
        set({ imageBusy: true, imageError: null });
        useImage(await api.probeImage(parsed.href));
      },

      selectDevices(devices) {
        const present = new Set(get().drives.map((d) => d.device));
        const chosen = devices.filter((d, i) => present.has(d) && devices.indexOf(d) === i);
        const { autoSelected } = get();
        // Turned down: do not choose it again by itself.
        if (autoSelected !== null && !chosen.includes(autoSelected)) declined.add(autoSelected);
        set({ devices: chosen, autoSelected: null, flashError: null });
      },

      async updateSettings(patch) {
        const problem = settingsProblem(patch);
        if (problem !== null) {
          set({ settingsError: problem });
          return false;
        }
        set((s) => ({ settings: { ...s.settings, ...patch }, settingsError: null }));
        const result = await api.setSettings(patch);
        applySettings(result);
        return result.ok;
      },

      async flash(acknowledged, mode = 'copy') {
        const { image, devices, settings } = get();
        if (image === null || devices.length === 0) return;
        lastRequest = { acknowledged, mode };
        set({ screen: 'flashing', job: pendingJob(targetsOf(devices), mode), flashError: null, cancelling: false, cancellingDevices: [], savedReportPath: null, saveError: null, panel: null });
        const result = await api.flash({
          mode,
          imagePath: image.path,
          devices,
          readback: settings.readback,
          retries: settings.retries,
          skipIdentical: settings.skipIdentical,
          probe: settings.probe,
          acknowledged,
        });
        // Whatever main asked about this request is over once the call is (answered, refused or timed out).
        set({ confirmRequests: [] });
        if (!result.ok) {
          set({ screen: 'setup', flashError: result.error, job: emptyJob });
          return;
        }
        // Events may have named the job already; keep what they built.
        set((s) => ({ job: s.job.jobId === null ? { ...s.job, jobId: result.value.jobId } : s.job }));
      },

      async cancel(device) {
        const { jobId } = get().job;
        if (jobId === null) return;
        if (device === undefined) set({ cancelling: true });
        else set((s) => ({ cancellingDevices: [...s.cancellingDevices, device] }));
        const result = await api.cancel(jobId, device);
        if (!result.ok) set((s) => ({ cancelling: false, cancellingDevices: s.cancellingDevices.filter((d) => d !== device), flashError: result.error }));
      },

      async saveReport() {
        const { jobId } = get().job;
        if (jobId === null) return;
        const result = await api.saveReport(jobId);
        if (result.ok) set({ savedReportPath: result.value, saveError: null });
        else set({ saveError: describe(result.error) });
      },

      flashAnother() {
        // The cards just flashed are not armed again: the next one must be chosen (or inserted).
        for (const device of get().job.devices) declined.add(device);
        set({ screen: 'setup', job: emptyJob, devices: [], autoSelected: null, cancelling: false, cancellingDevices: [], savedReportPath: null, saveError: null, flashError: null });
        autoSelect();
      },

      async flashFailedAgain() {
        const present = new Set(get().drives.map((d) => d.device));
        const again = failedDevices(get().job).filter((d) => present.has(d));
        if (again.length === 0) return;
        set({ screen: 'setup', devices: again, autoSelected: null });
        await get().flash(lastRequest.acknowledged, lastRequest.mode);
      },

      openPanel(panel) {
        set({ panel, settingsError: null });
      },

      async answerConfirm(accepted) {
        const [request, ...rest] = get().confirmRequests;
        if (request === undefined) return;
        set({ confirmRequests: rest });
        await api.answerConfirm(request.id, accepted);
      },

      connectionLost(message) {
        set({ connectionError: message });
      },
    };
  });
}
