/**
 * One drive in the picker: a checkbox named with its device path, the friendly name, size, bus or slot,
 * mount points, badges, and why it cannot be chosen or needs care.
 */
import { useId } from 'react';
import type { DriveInfo } from '../../shared/api';
import type { DriveVerdict } from '../../shared/drive-rules';
import { formatBytes } from '../../shared/format';
import { driveBadges, driveBus, driveName, mountText } from '../model/drive-display';
import { TruncatedText } from './truncated-text';

interface DriveRowProps {
  drive: DriveInfo;
  verdict: DriveVerdict;
  checked: boolean;
  onToggle(checked: boolean): void;
}

export function DriveRow({ drive, verdict, checked, onToggle }: DriveRowProps) {
  const disabled = verdict.status === 'disabled';
  const name = driveName(drive);
  const detailsId = useId();
  const mounted = mountText(drive);
  return (
    <li className={`drive-row status-${verdict.status}${checked ? ' is-checked' : ''}`} data-device={drive.device}>
      <label className="drive-main">
        <input
          type="checkbox"
          checked={checked}
          disabled={disabled}
          aria-label={`${drive.device} ${name}, ${formatBytes(drive.size)}`}
          aria-describedby={detailsId}
          onChange={(event) => onToggle(event.target.checked)}
        />
        <span className="drive-text">
          <span className="drive-title">
            <TruncatedText className="drive-name" text={name} />
            <span className="drive-size">{formatBytes(drive.size)}</span>
          </span>
          <span className="drive-meta">
            <span className="drive-path">{drive.device}</span> · {driveBus(drive)}
            {mounted ? ` · ${mounted}` : ''}
          </span>
        </span>
      </label>
      <div id={detailsId} className="drive-details">
        <span className="badges">
          {driveBadges(drive).map((badge) => (
            <span key={badge.label} className={`badge badge-${badge.tone}`} title={badge.detail}>
              {badge.label}
            </span>
          ))}
        </span>
        {verdict.reasons.map((reason) => (
          <span key={reason.code} className={`reason reason-${reason.severity}`}>
            {reason.message}
          </span>
        ))}
      </div>
    </li>
  );
}
