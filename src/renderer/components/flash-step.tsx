/**
 * Step 3: what the flash will do (from the settings), the Flash! button and "Verify without writing".
 * Drives that need explicit consent (large, system) and files that do not look like disk images get a
 * question first; the confirmed drive warnings travel in FlashRequest.acknowledged. While a job runs,
 * the step becomes its progress.
 */
import { useState } from 'react';
import { ACKNOWLEDGE_CODES } from '../../shared/drive-rules';
import { formatBytes } from '../../shared/format';
import { guiText } from '../model/gui-text';
import { imageRefusal, imageSizeOf, looksLikeNoDiskImage, noDiskImageText } from '../model/image-facts';
import { allFlashable, chosenTargets, reasonsToConfirm } from '../model/target-facts';
import { guiNextStep } from '../model/verdict';
import type { FlashMode } from '../store/app-store';
import { useApp } from '../store/store-context';
import { BreakableText } from './breakable-text';
import { PreflightDialog, type PreflightItem } from './confirm-dialogs';
import { FlashProgressView } from './flash-progress';
import { StepCard } from './step-card';

interface Pending {
  mode: FlashMode;
  items: PreflightItem[];
  codes: string[];
}

function SetupBody() {
  const image = useApp((s) => s.image);
  const drives = useApp((s) => s.drives);
  const devices = useApp((s) => s.devices);
  const settings = useApp((s) => s.settings);
  const flashError = useApp((s) => s.flashError);
  const flash = useApp((s) => s.flash);
  const openPanel = useApp((s) => s.openPanel);
  const [pending, setPending] = useState<Pending | null>(null);

  const targets = chosenTargets(drives, devices, image);
  // Main refuses an image whose signature or published checksum does not hold: say so here, not after a question.
  const refusal = image ? imageRefusal(image) : null;
  const ready = image !== null && refusal === null && allFlashable(targets);
  const toWrite = image ? (image.bmap?.mappedBytes ?? imageSizeOf(image)) : null;
  const what = targets.length === 1 ? (targets[0]?.drive.device ?? '') : `${targets.length} cards`;

  const start = (mode: FlashMode): void => {
    if (!ready || image === null) return;
    const confirm = reasonsToConfirm(targets, ACKNOWLEDGE_CODES);
    const several = targets.length > 1;
    const items: PreflightItem[] = confirm.map(({ device, reason }) => ({ key: `${device}:${reason.code}`, text: several ? `${device}: ${reason.message}` : reason.message }));
    if (looksLikeNoDiskImage(image)) items.unshift({ key: 'not-a-disk-image', text: guiText(noDiskImageText(image)) });
    const codes = [...new Set(confirm.map((c) => c.reason.code))];
    if (items.length > 0) setPending({ mode, items, codes });
    else void flash([], mode);
  };

  let hint: string;
  if (image === null) hint = 'Choose an image first';
  else if (refusal) hint = 'This image cannot be flashed';
  else if (targets.length === 0) hint = 'Choose a target';
  else if (!ready) hint = 'A chosen drive cannot be flashed';
  else hint = `${formatBytes(toWrite)} to ${targets.length === 1 ? 'write' : `each of ${targets.length} cards`}`;

  return (
    <>
      <div className="step-body" role="group" aria-label="What happens">
        <p className={ready ? 'step-name' : 'step-hint'}>{hint}</p>
        {refusal && (
          <div className="refusal" data-testid="image-refusal">
            <p className="note-error">{refusal.reason}.</p>
            <p className="step-desc">{refusal.next}</p>
          </div>
        )}
        {!refusal && (
          <>
            <p className="step-desc">
              {settings.readback
                ? `Reads every block back; rewrites what does not hold (up to ${settings.retries} ${settings.retries === 1 ? 'time' : 'times'}).`
                : 'Not read back: nothing will prove the card holds the image.'}
              {settings.skipIdentical ? ' Only what differs is written.' : ''}
            </p>
            <button type="button" className="link" onClick={() => openPanel('settings')}>
              Change settings
            </button>
          </>
        )}
      </div>
      <div className="step-actions">
        <button type="button" className="step-button primary flash-button" disabled={!ready} onClick={() => start('copy')}>
          Flash!
        </button>
        <button type="button" className="link" disabled={!ready} onClick={() => start('verify')} title="Read the cards and compare them with the image, without writing">
          Verify without writing
        </button>
      </div>
      {flashError && (
        <div className="error" role="alert">
          <p>
            <BreakableText text={guiText(flashError.message)} />
          </p>
          <p>{guiNextStep(flashError.code)}</p>
        </div>
      )}
      {pending && (
        <PreflightDialog
          mode={pending.mode}
          what={what}
          items={pending.items}
          erased={targets.map((t) => t.drive.device)}
          onClose={() => setPending(null)}
          onConfirm={() => {
            const { codes, mode } = pending;
            setPending(null);
            void flash(codes, mode);
          }}
        />
      )}
    </>
  );
}

export function FlashStep() {
  const screen = useApp((s) => s.screen);
  const mode = useApp((s) => s.job.mode);
  const ready = useApp((s) => s.image !== null && imageRefusal(s.image) === null && allFlashable(chosenTargets(s.drives, s.devices, s.image)));
  const busy = screen === 'flashing';
  return (
    <StepCard
      id="step-flash"
      number={3}
      title={busy && mode === 'verify' ? 'Verify' : 'Flash'}
      icon={busy && mode === 'verify' ? 'verify' : 'flash'}
      state={busy ? 'busy' : 'todo'}
      className={`step-flash${ready && !busy ? ' step-ready' : ''}`}
      testId="flash-step"
    >
      {busy ? <FlashProgressView /> : <SetupBody />}
    </StepCard>
  );
}
