/**
 * Step 1: the image, chosen with the file dialog, dropped (a file or a link), or pasted as a link; shows
 * what main learned about it: name, size, format, what the block map writes, signature and checksum.
 */
import { useState, type DragEvent, type FormEvent } from 'react';
import { useApp } from '../store/store-context';
import type { ImageInfo } from '../../shared/api';
import { bmapLine, imageRefusal, imageWarnings, originLine, sizeLine, trustLines, writesLine } from '../model/image-facts';
import { guiText } from '../model/gui-text';
import { BreakableText } from './breakable-text';
import { Icon } from './icon';
import { StepCard } from './step-card';
import { fileNameTail, TruncatedText } from './truncated-text';

/** A link dragged from a browser or a file manager's address bar, if the drop carries one. */
function droppedLink(event: DragEvent<HTMLElement>): string | null {
  const data = event.dataTransfer;
  if (typeof data.getData !== 'function') return null;
  const text = (data.getData('text/uri-list') || data.getData('text/plain') || '').split(/\r?\n/).find((line) => line.trim() !== '' && !line.startsWith('#'));
  return text && /^https?:\/\//i.test(text.trim()) ? text.trim() : null;
}

function ImageDetails({ image, compact }: { image: ImageInfo; compact: boolean }) {
  const trust = trustLines(image);
  const bmap = bmapLine(image);
  const warnings = imageWarnings(image);
  const origin = originLine(image);
  return (
    <div className="step-body" aria-label="Image details" role="group">
      <TruncatedText className={`step-name${image.name.length > 24 ? ' is-long' : ''}`} text={image.name} keepEnd={fileNameTail(image.name)} testId="image-name" />
      <p className="step-sub">{sizeLine(image)}</p>
      {origin && <TruncatedText className="step-sub step-fine" text={origin} testId="image-origin" />}
      {!compact && <p className="step-sub">{writesLine(image)}</p>}
      {!compact && bmap && <p className="step-sub step-fine">{bmap}</p>}
      {!compact && trust.length > 0 && (
        <ul className="trust" aria-label="Authenticity">
          {trust.map((line) => (
            <li key={line.text} className={`trust-${line.tone}`} title={line.detail}>
              {line.tone !== 'neutral' && <Icon name={line.tone === 'good' ? 'signed' : 'warning'} />}
              <TruncatedText text={line.text} />
            </li>
          ))}
        </ul>
      )}
      {!compact && warnings.length > 0 && (
        <ul className="notes" aria-label="Image warnings">
          {warnings.map((w) => (
            <li key={w} className="note-warning">
              {guiText(w)}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function UrlField({ disabled }: { disabled: boolean }) {
  const openUrl = useApp((s) => s.openUrl);
  const [url, setUrl] = useState('');
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    if (url.trim() !== '') void openUrl(url);
  };
  return (
    <form className="url-form" onSubmit={submit} aria-label="Image from a link">
      <Icon name="link" />
      <input
        type="url"
        inputMode="url"
        placeholder="or paste a link"
        aria-label="Image link"
        value={url}
        onChange={(event) => setUrl(event.target.value)}
        disabled={disabled}
      />
      <button type="submit" className="small" disabled={disabled || url.trim() === ''}>
        Open
      </button>
    </form>
  );
}

export function ImageStep({ locked = false }: { locked?: boolean }) {
  const image = useApp((s) => s.image);
  const busy = useApp((s) => s.imageBusy);
  const error = useApp((s) => s.imageError);
  const pickImage = useApp((s) => s.pickImage);
  const dropFile = useApp((s) => s.dropFile);
  const openUrl = useApp((s) => s.openUrl);
  const [over, setOver] = useState(false);

  const onDrop = (event: DragEvent<HTMLElement>): void => {
    event.preventDefault();
    setOver(false);
    if (locked) return;
    const file = event.dataTransfer.files[0];
    if (file) {
      void dropFile(file);
      return;
    }
    const link = droppedLink(event);
    if (link) void openUrl(link);
  };

  return (
    <StepCard
      id="step-image"
      number={1}
      title="Image"
      icon="image"
      state={locked ? 'idle' : image && imageRefusal(image) === null ? 'done' : 'todo'}
      className={over ? 'drop-over' : undefined}
      testId="drop-zone"
      dropHandlers={{
        onDragOver: (event) => {
          event.preventDefault();
          if (!locked) setOver(true);
        },
        onDragLeave: () => setOver(false),
        onDrop,
      }}
    >
      {image ? <ImageDetails image={image} compact={locked} /> : <p className="step-hint">Drop an image file or a link here</p>}
      {!locked && (
        <div className="step-actions">
          <button type="button" className={image ? 'step-button' : 'step-button primary'} onClick={() => void pickImage()} disabled={busy}>
            {busy ? 'Reading image…' : image ? 'Change image' : 'Select image'}
          </button>
          <UrlField disabled={busy} />
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          <BreakableText text={guiText(error)} />
        </p>
      )}
    </StepCard>
  );
}
