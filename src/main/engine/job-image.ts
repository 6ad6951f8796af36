/**
 * The engine's side of opening a job's image: FlashJob options to openImage's, and what the report and the
 * progress events carry from it (where the image came from, its signature and checksum, bytes downloaded).
 */
import type { FlashProgress, FlashReport } from '../../shared/report';
import { openImage, type OpenedImage } from './open-image';
import type { FlashJob } from './protocol';

export function openJobImage(job: FlashJob, signal: AbortSignal, log: (level: 'info' | 'warn', message: string) => void): Promise<OpenedImage> {
  const auth = job.auth ?? {};
  return openImage(job.image, {
    decoder: job.decoder ?? 'auto',
    ...(job.noBmap ? { bmap: null } : job.bmapPath ? { bmap: job.bmapPath } : {}),
    ...(auth.bmapSig ? { bmapSig: auth.bmapSig } : {}),
    ...(auth.keyring ? { keyring: auth.keyring } : {}),
    ...(auth.fingerprint ? { fingerprint: auth.fingerprint } : {}),
    verifySignature: !auth.noSigVerify,
    ...(auth.sha256 ? { sha256: auth.sha256 } : {}),
    cache: job.cache ?? null,
    signal,
    log,
  });
}

/** The report's image fields that come from opening it. */
export function imageReportFields(opened: OpenedImage | null): Partial<FlashReport['image']> {
  if (!opened) return {};
  return {
    path: opened.name,
    origin: opened.origin,
    ...(opened.download ? { downloadedBytes: opened.download.bytes } : {}),
    ...(opened.cachedFile ? { cachedFile: opened.cachedFile } : {}),
    signature: opened.signature,
    checksum: opened.checksum(),
  };
}

/** A progress event with the download's bytes and rate added (URL images). */
export function withDownload(progress: FlashProgress, opened: OpenedImage | null): FlashProgress {
  const meter = opened?.download;
  return meter ? { ...progress, download: { bytes: meter.bytes, speed: meter.speed } } : progress;
}
