/**
 * What `sureflash copy` records in the flash history: every block device it wrote (regular files are
 * images, not cards), with the card's identity read before the flash and its health verdict after. A
 * history that cannot be written is a warning; it never changes the verdict or the exit code.
 */
import { stat } from 'node:fs/promises';
import type { CardIdentity } from '../../shared/card-identity';
import type { BatchReport } from '../../shared/report';
import { rereadFingerprint } from '../../shared/flash-outcome';
import { identifyMedium, identifyMediumWithin } from '../drives/card-media';
import type { FlashHistory } from '../history/flash-recorder';

/**
 * Who each DEST is: its identity for block devices (with the content fingerprint), null for anything else.
 * A card that does not answer the fingerprint's reads within `timeoutMs` is left unidentified (`onSlow` says
 * so), so the flash still starts and the engine reports it stalled; the read it left behind ends with the card.
 */
export async function identifyTargets(paths: readonly string[], timeoutMs: number, onSlow: (path: string) => void = () => undefined): Promise<(CardIdentity | null)[]> {
  return Promise.all(
    paths.map(async (path) => {
      const device = await stat(path).then((s) => s.isBlockDevice(), () => false);
      return device ? identifyMediumWithin(path, true, timeoutMs, () => onSlow(path)) : null;
    }),
  );
}

/** Records the cards of `batch` (block devices only); returns one line per card for the user. */
export async function recordCopy(batch: BatchReport, taken: readonly (CardIdentity | null)[], history: FlashHistory): Promise<{ lines: string[]; warnings: string[] }> {
  const lines: string[] = [];
  const warnings: string[] = [];
  const speeds: number[] = [];
  for (const [index, report] of batch.cards.entries()) {
    if (report.target.kind !== 'block-device' || report.mode !== 'copy') continue;
    let identity = taken[index] ?? null;
    // A card known only by its content is recorded under what it holds now, so it is found again next time.
    if (rereadFingerprint(report, identity?.idSource)) {
      identity = (await identifyMedium(report.target.path, true).catch(() => null)) ?? identity;
    }
    const done = history.record({ report, identity, sessionId: null, station: null, batchSpeeds: [...speeds] });
    if (done.outcome.writeSpeed !== null) speeds.push(done.outcome.writeSpeed);
    if (done.error) warnings.push(`${report.target.path}: ${done.error}`);
    else {
      const reasons = done.health.reasons.filter((r) => r.verdict !== 'keep').map((r) => r.message).join(' ');
      lines.push(`${report.target.path}: recorded as card ${identity?.cardId ?? '?'} in ${history.file}; health ${done.health.verdict.toUpperCase()}${reasons ? `: ${reasons}` : ''}`);
    }
  }
  return { lines, warnings };
}
