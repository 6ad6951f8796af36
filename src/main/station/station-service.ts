/**
 * The station: armed on an image, it watches the drive list and flashes every card that appears afterwards
 * and passes the take rule (src/shared/station-rules.ts), each card in its own engine job so a card inserted
 * later never waits for the others, at most `maxCards` at a time. Drives present at arming are never
 * touched. Each finished card gets its health verdict, a history row and a log line; listeners get the
 * events of src/shared/station.ts. No Electron: the CLI and main's Api both drive it.
 */
import { randomUUID } from 'node:crypto';
import { appendFile, realpath } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import type { DriveInfo, Unsubscribe } from '../../shared/api';
import { rereadFingerprint } from '../../shared/flash-outcome';
import type { CardIdentity } from '../../shared/card-identity';
import type { FlashReport } from '../../shared/report';
import type {
  StationCard,
  StationEvent,
  StationImage,
  StationOptions,
  StationRefusal,
  StationState,
  StationStatus,
  StationSummary,
} from '../../shared/station';
import { judgeStationDrive, mediumKey, stationSummary } from '../../shared/station-rules';
import type { ApiError } from '../../shared/result';
import { EngineError } from '../engine/errors';
import { recordCard } from './card-record';
import { refuseUntrusted, stationJob, validateStationOptions } from './station-arming';
import type { StationEngineRun, StationService, StationServiceDeps } from './types';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A card being flashed. */
interface Running {
  card: StationCard;
  drive: DriveInfo;
  run: StationEngineRun | null;
  /** Seen gone from the drive list while it ran. */
  vanished: boolean;
  cancelled: boolean;
}

/** One armed session. */
interface Session {
  id: string;
  station: string;
  options: StationOptions;
  image: StationImage;
  startedAt: string;
  stoppedAt: string | null;
  state: StationState;
  untouched: StationRefusal[];
  cards: StationCard[];
  running: Map<number, Running>;
  /** Media seen in the last poll (mediumKey), device → key. */
  known: Map<string, string>;
  /** Cards that came while `maxCards` ran, in order of arrival. */
  queue: { drive: DriveInfo; key: string; slot: string | null }[];
  /** The device each finished card was in, until it is taken out. */
  finishedIn: Map<string, StationCard>;
  timer: ReturnType<typeof setTimeout> | null;
  polling: boolean;
  summary: StationSummary | null;
  stopped: Promise<StationSummary>;
  resolveStopped: (summary: StationSummary) => void;
}

export function createStationService(deps: StationServiceDeps): StationService {
  const listeners = new Set<(event: StationEvent) => void>();
  const pollMs = deps.pollIntervalMs ?? 1000;
  const appendLog = deps.appendLog ?? ((file: string, line: string) => appendFile(file, line, { encoding: 'utf8', mode: 0o644 }));
  let session: Session | null = null;
  let arming = false;

  const emit = (event: StationEvent): void => {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (err) {
        deps.log?.('error', `station listener failed: ${message(err)}`);
      }
    }
  };
  const warn = (s: Session, text: string): void => {
    deps.log?.('warn', text);
    emit({ type: 'warning', sessionId: s.id, message: text });
  };

  const slotOf = (drive: DriveInfo, identity: CardIdentity | null): string | null => identity?.location.slot ?? drive.location ?? null;

  const identify = async (device: string, fingerprint: boolean): Promise<CardIdentity | null> => {
    try {
      return await deps.identify(device, fingerprint);
    } catch (err) {
      deps.log?.('warn', `could not identify ${device}: ${message(err)}`);
      return null;
    }
  };

  const keyOf = async (drive: DriveInfo): Promise<string> => {
    const sequence = deps.mediaKey ? await deps.mediaKey(drive.device).catch(() => null) : null;
    return mediumKey(drive, sequence);
  };

  const status = (): StationStatus => {
    if (!session) return { state: 'idle', sessionId: null, station: null, options: null, image: null, untouched: [], cards: [], summary: null };
    const s = session;
    return {
      state: s.state,
      sessionId: s.id,
      station: s.station,
      options: s.options,
      image: s.image,
      untouched: s.untouched,
      cards: s.cards.map((c) => ({ ...c })),
      summary: s.summary ?? stationSummary({ sessionId: s.id, station: s.station, startedAt: s.startedAt, stoppedAt: null }, s.cards),
    };
  };

  const finishSession = (s: Session): void => {
    if (s.state === 'stopped') return;
    if (s.timer) clearTimeout(s.timer);
    s.timer = null;
    s.state = 'stopped';
    s.stoppedAt = new Date().toISOString();
    s.summary = stationSummary({ sessionId: s.id, station: s.station, startedAt: s.startedAt, stoppedAt: s.stoppedAt }, s.cards);
    deps.history?.close();
    emit({ type: 'stopped', sessionId: s.id, summary: s.summary });
    s.resolveStopped(s.summary);
  };

  /** Records a finished card (history, log) and tells the listeners. */
  const finishCard = async (s: Session, r: Running, report: FlashReport | null, failure: ApiError | null): Promise<void> => {
    const card = r.card;
    const lost = r.vanished || report?.error?.code === 'DEVICE_LOST' || failure?.code === 'DEVICE_LOST';
    const verdict = lost ? 'lost' : (report?.status ?? (failure?.code === 'CANCELLED' ? 'cancelled' : 'failed'));
    // A card still in its slot is recorded under what it holds now (its fingerprint then names the image it
    // carries, so the same card flashed again is found again); a lost one under what it was when taken.
    let identity = card.identity;
    if (!lost && report && rereadFingerprint(report, identity?.idSource)) {
      identity = (await identify(card.device, true)) ?? identity;
    }
    const batchSpeeds = s.cards
      .filter((c) => c !== card && (c.state === 'verified' || c.state === 'written-unverified'))
      .map((c) => c.result?.summary.writeSpeed)
      .filter((speed): speed is number => typeof speed === 'number' && speed > 0);
    const { result, warnings } = await recordCard(card, { verdict, identity, report, failure }, {
      sessionId: s.id,
      station: s.station,
      image: s.image,
      logFile: s.options.logFile,
      history: deps.history,
      appendLog,
      batchSpeeds,
    });
    for (const warning of warnings) warn(s, `card ${card.card} (${card.device}): ${warning}`);
    card.state = verdict;
    card.identity = identity;
    card.result = result;
    s.running.delete(card.card);
    if (!lost) s.finishedIn.set(card.device, card);
    emit({ type: lost ? 'card-lost' : 'card-done', sessionId: s.id, result });
    afterCard(s);
  };

  const afterCard = (s: Session): void => {
    if (s.state === 'stopping' || s.state === 'cancelling') {
      if (s.running.size === 0) finishSession(s);
      return;
    }
    if (s.state !== 'armed') return;
    while (s.queue.length > 0 && s.running.size < s.options.maxCards) {
      const next = s.queue.shift();
      if (next && s.known.get(next.drive.device) === next.key) void take(s, next.drive, next.slot);
    }
    if (s.running.size === 0) emit({ type: 'waiting', sessionId: s.id, running: 0, maxCards: s.options.maxCards });
  };

  /** Takes one card: unmounts it, identifies it and starts its job. */
  const take = async (s: Session, drive: DriveInfo, slot: string | null): Promise<void> => {
    const number = s.cards.length + 1;
    const card: StationCard = {
      card: number,
      device: drive.device,
      slot,
      description: drive.description,
      size: drive.size,
      identity: null,
      takenAt: new Date().toISOString(),
      state: 'flashing',
      progress: null,
      result: null,
    };
    s.cards.push(card);
    s.finishedIn.delete(drive.device);
    const r: Running = { card, drive, run: null, vanished: false, cancelled: false };
    s.running.set(number, r);
    card.identity = await identify(drive.device, true);
    card.slot = slot ?? card.identity?.location.slot ?? null;
    emit({ type: 'card-taken', sessionId: s.id, card: number, device: drive.device, slot: card.slot, description: drive.description, size: drive.size, identity: card.identity });
    try {
      await deps.unmount(drive);
    } catch (err) {
      await finishCard(s, r, null, { code: 'TARGET_MOUNTED', message: `${drive.device} could not be unmounted: ${message(err)}` });
      return;
    }
    if (r.cancelled || r.vanished) {
      await finishCard(s, r, null, r.vanished ? { code: 'DEVICE_LOST', message: `${drive.device} went away before it was written.` } : { code: 'CANCELLED', message: 'Cancelled before anything was written.' });
      return;
    }
    let report: FlashReport | null = null;
    try {
      const run = deps.runEngine(stationJob(s.options, s.image, drive, card.identity), {
        onProgress: (_target, p) => {
          const percent = p.bytesTotal > 0 ? Math.min(100, Math.floor((p.bytesDone * 100) / p.bytesTotal)) : 0;
          card.progress = { percent, phase: p.phase, speed: p.speed, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, etaSeconds: p.etaSeconds, retries: p.retries };
          emit({ type: 'card-progress', sessionId: s.id, card: number, device: drive.device, progress: card.progress });
        },
        onTargetDone: (_target, done) => {
          report = done;
        },
        onLog: (level, text) => {
          if (level === 'warn' || level === 'error') deps.log?.(level, `[card ${number} ${drive.device}] ${text}`);
        },
      });
      r.run = run;
      if (r.cancelled || r.vanished) run.cancel();
      const batch = await run.done;
      report = batch.cards[0] ?? report;
      await finishCard(s, r, report, report ? null : { code: 'INTERNAL', message: 'the engine gave no report for the card' });
    } catch (err) {
      const code = err instanceof EngineError ? err.code : 'INTERNAL';
      await finishCard(s, r, report, { code, message: message(err) });
    }
  };

  const poll = async (s: Session): Promise<void> => {
    if (s.state === 'stopped' || s !== session) return;
    s.polling = true;
    try {
      const drives = await deps.listDrives();
      const current = new Map<string, { drive: DriveInfo; key: string }>();
      for (const drive of drives) current.set(drive.device, { drive, key: await keyOf(drive) });
      // Gone (or another medium now): a running card is lost; a finished one was taken out.
      for (const [device, key] of s.known) {
        if (current.get(device)?.key === key) continue;
        for (const r of s.running.values()) {
          if (r.drive.device === device && !r.vanished) {
            r.vanished = true;
            r.run?.cancel();
          }
        }
        const finished = s.finishedIn.get(device);
        if (finished) {
          s.finishedIn.delete(device);
          emit({ type: 'card-removed', sessionId: s.id, card: finished.card, device, slot: finished.slot });
        }
        s.queue = s.queue.filter((q) => q.drive.device !== device);
      }
      const arrived = [...current.values()].filter((entry) => s.known.get(entry.drive.device) !== entry.key);
      s.known = new Map([...current.values()].map((entry) => [entry.drive.device, entry.key]));
      if (s.state !== 'armed') return;
      for (const { drive, key } of arrived) {
        if ([...s.running.values()].some((r) => r.drive.device === drive.device)) continue;
        const sysfs = await identify(drive.device, false);
        const slot = slotOf(drive, sysfs);
        const refusal = judgeStationDrive(drive, slot, {
          imagePath: s.image.path,
          imageSize: s.image.imageSize,
          maxSizeBytes: s.options.maxSizeBytes,
          slots: s.options.slots,
          allDrives: drives,
        });
        if (refusal) {
          emit({ type: 'card-refused', sessionId: s.id, refusal });
          continue;
        }
        if (s.running.size >= s.options.maxCards) s.queue.push({ drive, key, slot });
        else void take(s, drive, slot);
      }
    } catch (err) {
      warn(s, `the drive list could not be read: ${message(err)}`);
    } finally {
      s.polling = false;
      if ((s.state as StationState) !== 'stopped' && s === session) s.timer = setTimeout(() => void poll(s), pollMs);
    }
  };

  const arm = async (options: StationOptions): Promise<StationStatus> => {
    if (arming || (session && session.state !== 'stopped')) {
      throw new EngineError('USAGE', 'The station is already armed: stop it before arming it again.');
    }
    arming = true;
    try {
      validateStationOptions(options);
      const imagePath = await realpath(options.imagePath).catch(() => {
        throw new EngineError('IMAGE_NOT_FOUND', `${options.imagePath} does not exist: choose the image file.`);
      });
      const info = await deps.probeImage(imagePath, {
        ...(options.bmapPath !== undefined ? { bmapPath: options.bmapPath } : {}),
        ...(options.auth ? { auth: { ...options.auth } } : {}),
      });
      refuseUntrusted(info, options);
      if (options.logFile) {
        // The log must take lines before the first card is taken, not fail on the first one.
        await appendLog(options.logFile, '').catch((err: unknown) => {
          throw new EngineError('REPORT_UNWRITABLE', `The log file ${options.logFile} cannot be written (${message(err)}): the station is not armed.`);
        });
      }
      const image: StationImage = { path: imagePath, name: info.name || basename(imagePath), imageSize: info.imageSize, bmapPath: options.bmapPath === null ? null : (info.bmap?.path ?? null) };
      const drives = await deps.listDrives();
      const known = new Map<string, string>();
      for (const drive of drives) known.set(drive.device, await keyOf(drive));
      const untouched: StationRefusal[] = drives.map((d) => ({
        device: d.device,
        description: d.description,
        size: d.size,
        code: 'PRESENT_AT_ARMING',
        message: 'Present when the station was armed: never touched in this session.',
      }));
      let resolveStopped: (summary: StationSummary) => void = () => undefined;
      const stopped = new Promise<StationSummary>((resolve) => {
        resolveStopped = resolve;
      });
      const station = options.stationName?.trim() || deps.stationName || hostname();
      const s: Session = {
        id: randomUUID(),
        station,
        options: { ...options, imagePath, slots: [...options.slots] },
        image,
        startedAt: new Date().toISOString(),
        stoppedAt: null,
        state: 'armed',
        untouched,
        cards: [],
        running: new Map(),
        known,
        queue: [],
        finishedIn: new Map(),
        timer: null,
        polling: false,
        summary: null,
        stopped,
        resolveStopped,
      };
      session = s;
      emit({ type: 'armed', sessionId: s.id, station, at: s.startedAt, options: s.options, image, untouched });
      emit({ type: 'waiting', sessionId: s.id, running: 0, maxCards: options.maxCards });
      s.timer = setTimeout(() => void poll(s), pollMs);
      return status();
    } finally {
      arming = false;
    }
  };

  const stop = (options: { cancel?: boolean } = {}): StationStatus => {
    const s = session;
    if (!s || s.state === 'stopped') return status();
    const cancel = options.cancel === true || s.state === 'stopping' || s.state === 'cancelling';
    if (s.state === 'armed') {
      s.state = 'stopping';
      s.queue = [];
    }
    if (cancel && s.state !== 'cancelling' && s.running.size > 0) {
      s.state = 'cancelling';
      for (const r of s.running.values()) {
        r.cancelled = true;
        r.run?.cancel();
      }
    }
    emit({ type: 'stopping', sessionId: s.id, running: s.running.size, cancelling: s.state === 'cancelling' });
    if (s.running.size === 0) finishSession(s);
    return status();
  };

  return {
    arm,
    stop,
    cancelCard(number) {
      const r = session?.running.get(number);
      if (!r) return;
      r.cancelled = true;
      r.run?.cancel();
    },
    status,
    subscribe(listener): Unsubscribe {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    whenStopped: () => (session ? (session.state === 'stopped' ? Promise.resolve(session.summary) : session.stopped) : Promise.resolve(null)),
  };
}
