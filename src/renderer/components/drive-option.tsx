/** One drive in the picker: name, device path, size, badges, and why it cannot be chosen or needs care. */
import type { KeyboardEvent } from 'react';
import type { DriveInfo } from '../../shared/api';
import type { DriveVerdict } from '../../shared/drive-rules';
import { formatBytes } from '../../shared/format';

interface DriveOptionProps {
  drive: DriveInfo;
  verdict: DriveVerdict;
  selected: boolean;
  focusable: boolean;
  onChoose(): void;
  onKeyDown(event: KeyboardEvent<HTMLDivElement>): void;
}

export function DriveOption({ drive, verdict, selected, focusable, onChoose, onKeyDown }: DriveOptionProps) {
  const disabled = verdict.status === 'disabled';
  return (
    <div
      role="option"
      className={`drive-option status-${verdict.status}`}
      aria-selected={selected}
      aria-disabled={disabled}
      tabIndex={focusable ? 0 : -1}
      data-device={drive.device}
      onClick={() => {
        if (!disabled) onChoose();
      }}
      onKeyDown={onKeyDown}
    >
      <span className="drive-name">{drive.description || 'Unnamed drive'}</span>{' '}
      <span className="drive-path">{drive.device}</span>{' '}
      <span className="drive-size">{formatBytes(drive.size)}</span>
      {verdict.badges.length > 0 && (
        <span className="badges">
          {verdict.badges.map((badge) => (
            <span key={badge} className={`badge badge-${badge.toLowerCase().replace(/[^a-z]+/g, '-')}`}>
              {' '}
              {badge}
            </span>
          ))}
        </span>
      )}
      {verdict.reasons.length > 0 && (
        <span className="reasons">
          {verdict.reasons.map((reason) => (
            <span key={reason.code} className={`reason reason-${reason.severity}`}>
              {' '}
              {reason.message}
            </span>
          ))}
        </span>
      )}
    </div>
  );
}
