/**
 * The renderer's one store: what the user chose, the drive list, settings and the running job. Every
 * action goes through the Api; rules and formatting live in src/shared, not here.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { DEFAULT_SETTINGS, type Api, type ConfirmRequest, type DriveInfo, type ImageInfo, type Settings } from '../../shared/api';
import type { ApiError, Result } from '../../shared/result';
import { clampRetries } from '../../shared/retry-limit';
import { applyFlashEvent, emptyJob, isJobOver, type JobState } from './job-state';

export type Screen = 'setup' | 'flashing' | 'final';

export interface AppState {
  screen: Screen;
  image: ImageInfo | null;
  imageBusy: boolean;
  /** Why the last image choice failed, in words a user can act on. */
  imageError: string | null;
  drives: DriveInfo[];
  drivesError: string | null;
  /** Device path of the chosen target; cleared when that drive disappears. */
  device: string | null;
  settings: Settings;
  job: JobState;
  /** Why the flash could not start (validation, drive rules), shown on the setup screen. */
  flashError: ApiError | null;
  cancelling: boolean;
  savedReportPath: string | null;
  saveError: string | null;
  /** Set when the transport to main is gone (the browser host stopped); shown above everything. */
  connectionError: string | null;
  /** Main's questions waiting for the user, oldest first (browser host only). */
  confirmRequests: ConfirmRequest[];

  /** Subscribes to drives and flash events and loads settings; returns the cleanup. */
  init(): () => void;
  pickImage(): Promise<void>;
  /** A file dropped on the image step. */
  dropFile(file: File): Promise<void>;
  selectDevice(device: string | null): void;
  setReadback(readback: boolean): Promise<void>;
  setRetries(retries: number): Promise<void>;
  /** Starts flashing; `acknowledged` are the drive warnings the user confirmed. */
  flash(acknowledged: string[]): Promise<void>;
  cancel(): Promise<void>;
  saveReport(): Promise<void>;
  /** Back to the setup screen, keeping the image and the drive for another card. */
  flashAnother(): void;
  connectionLost(message: string): void;
  /** Answers the oldest waiting question. */
  answerConfirm(accepted: boolean): Promise<void>;
}

const describe = (error: ApiError): string => error.message;

/** Drops a selection that is no longer in the list (the drive was unplugged). */
function keepSelection(device: string | null, drives: DriveInfo[]): string | null {
  return device !== null && drives.some((d) => d.device === device) ? device : null;
}

export function createAppStore(api: Api): StoreApi<AppState> {
  return createStore<AppState>()((set, get) => {
    const setDrives = (drives: DriveInfo[]): void =>
      set((s) => ({ drives, drivesError: null, device: keepSelection(s.device, drives) }));

    /** Jobs whose outcome the user has seen (their stray events are ignored). */
    const endedJobs = new Set<string>();

    const applySettings = (result: Result<Settings>): void => {
      if (result.ok) set({ settings: result.value });
    };

    const useImage = (result: Result<ImageInfo | null>): void => {
      if (!result.ok) set({ imageBusy: false, imageError: describe(result.error) });
      else if (result.value === null) set({ imageBusy: false });
      else set({ imageBusy: false, imageError: null, image: result.value });
    };

    return {
      screen: 'setup',
      image: null,
      imageBusy: false,
      imageError: null,
      drives: [],
      drivesError: null,
      device: null,
      settings: DEFAULT_SETTINGS,
      job: emptyJob,
      flashError: null,
      cancelling: false,
      savedReportPath: null,
      saveError: null,
      connectionError: null,
      confirmRequests: [],

      init() {
        const offDrives = api.onDrives(setDrives);
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
        void api.getSettings().then(applySettings);
        const offConfirm = api.onConfirm((request) => set((s) => ({ confirmRequests: [...s.confirmRequests, request] })));
        return () => {
          offDrives();
          offFlash();
          offConfirm();
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

      selectDevice(device) {
        set((s) => ({ device: device === null ? null : keepSelection(device, s.drives), flashError: null }));
      },

      async setReadback(readback) {
        set((s) => ({ settings: { ...s.settings, readback } }));
        applySettings(await api.setSettings({ readback }));
      },

      async setRetries(retries) {
        const clamped = clampRetries(retries);
        set((s) => ({ settings: { ...s.settings, retries: clamped } }));
        applySettings(await api.setSettings({ retries: clamped }));
      },

      async flash(acknowledged) {
        const { image, device, settings } = get();
        if (image === null || device === null) return;
        set({ screen: 'flashing', job: emptyJob, flashError: null, cancelling: false, savedReportPath: null, saveError: null });
        const result = await api.flash({
          imagePath: image.path,
          devices: [device],
          readback: settings.readback,
          retries: settings.retries,
          skipIdentical: settings.skipIdentical,
          probe: settings.probe,
          acknowledged,
        });
        // A question still open belongs to this call, which is over (e.g. it timed out): take it away.
        set({ confirmRequests: [] });
        if (!result.ok) {
          set({ screen: 'setup', flashError: result.error, job: emptyJob });
          return;
        }
        // Events may have named the job already; keep what they built.
        set((s) => ({ job: s.job.jobId === null ? { ...s.job, jobId: result.value.jobId } : s.job }));
      },

      async cancel() {
        const { jobId } = get().job;
        if (jobId === null) return;
        set({ cancelling: true });
        const result = await api.cancel(jobId);
        if (!result.ok) set({ cancelling: false, flashError: result.error });
      },

      async saveReport() {
        const { jobId } = get().job;
        if (jobId === null) return;
        const result = await api.saveReport(jobId);
        if (result.ok) set({ savedReportPath: result.value, saveError: null });
        else set({ saveError: describe(result.error) });
      },

      connectionLost(message) {
        set({ connectionError: message });
      },

      async answerConfirm(accepted) {
        const [request, ...rest] = get().confirmRequests;
        if (request === undefined) return;
        set({ confirmRequests: rest });
        await api.answerConfirm(request.id, accepted);
      },

      flashAnother() {
        set((s) => ({ screen: 'setup', job: emptyJob, cancelling: false, savedReportPath: null, saveError: null, device: keepSelection(s.device, s.drives) }));
      },
    };
  });
}
