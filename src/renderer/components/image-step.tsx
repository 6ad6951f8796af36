/** Step 1: the image, chosen with the file dialog or dropped; shows what main learned about it. */
import { useState, type DragEvent } from 'react';
import { formatBytes } from '../../shared/format';
import type { ImageInfo } from '../../shared/api';
import { useApp } from '../store/store-context';

const COMPRESSION_NAMES: Record<ImageInfo['compression'], string> = {
  none: 'not compressed',
  gzip: 'gzip',
  bzip2: 'bzip2',
  xz: 'xz',
  zstd: 'zstd',
  zip: 'zip archive',
};

function share(part: number, whole: number | null): string {
  if (whole === null || whole <= 0) return '';
  const percent = (part / whole) * 100;
  return ` (${percent < 1 && percent > 0 ? percent.toFixed(2) : percent.toFixed(1)}% of the image)`;
}

function ImageDetails({ image }: { image: ImageInfo }) {
  const imageSize = image.imageSize ?? image.bmap?.imageSize ?? null;
  return (
    <div className="details" aria-label="Image details">
      <p className="chosen-name" title={image.path}>
        {image.name}
      </p>
      <dl>
        <dt>Size</dt>
        <dd>
          {formatBytes(imageSize)}
          {image.compression !== 'none' ? `, ${formatBytes(image.fileSize)} on disk` : ''}
        </dd>
        <dt>Compression</dt>
        <dd>{COMPRESSION_NAMES[image.compression]}</dd>
        <dt>Block map</dt>
        <dd>
          {image.bmap
            ? `bmap ${image.bmap.version}, ${image.bmap.checksumType ?? 'no'} checksums, ${formatBytes(image.bmap.mappedBytes)} mapped${share(image.bmap.mappedBytes, image.bmap.imageSize)}`
            : 'none found'}
        </dd>
      </dl>
      {image.warnings.length > 0 && (
        <ul className="warnings" aria-label="Image warnings">
          {image.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function ImageStep() {
  const image = useApp((s) => s.image);
  const busy = useApp((s) => s.imageBusy);
  const error = useApp((s) => s.imageError);
  const pickImage = useApp((s) => s.pickImage);
  const dropFile = useApp((s) => s.dropFile);
  const [over, setOver] = useState(false);

  const onDrop = (event: DragEvent<HTMLElement>): void => {
    event.preventDefault();
    setOver(false);
    const file = event.dataTransfer.files[0];
    if (file) void dropFile(file);
  };

  return (
    <section
      className={`step${over ? ' drop-over' : ''}`}
      aria-labelledby="step-image"
      data-testid="drop-zone"
      onDragOver={(event) => {
        event.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <h2 id="step-image">
        <span className="step-number">1</span> Image
      </h2>
      {image ? <ImageDetails image={image} /> : <p className="hint">Drop an image file here, or</p>}
      <button type="button" onClick={() => void pickImage()} disabled={busy}>
        {busy ? 'Reading image…' : image ? 'Change image' : 'Select image'}
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
