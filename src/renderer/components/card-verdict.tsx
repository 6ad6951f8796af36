/** A card's verdict: a big icon and headline (role=status), what it means, whether to remove it, and the warning when it must not be used. */
import type { FlashStatus } from '../../shared/report';
import { SHORT_UNSAFE_TEXT, type Verdict } from '../model/verdict';
import { BreakableText } from './breakable-text';
import { Icon, type IconName } from './icon';

export function verdictIcon(status: FlashStatus): IconName {
  switch (status) {
    case 'verified':
      return 'verified';
    case 'failed':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
    case 'written-unverified':
      return 'written';
  }
}

interface VerdictBlockProps {
  verdict: Verdict;
  /** The card, shown under the headline ("os.img → /dev/sdb"). */
  subject?: string;
  big?: boolean;
  /** Few words, for a row among several cards. */
  compact?: boolean;
  focusRef?: React.Ref<HTMLDivElement>;
}

export function VerdictBlock({ verdict, subject, big = false, compact = false, focusRef }: VerdictBlockProps) {
  return (
    <div className={`verdict verdict-${verdict.status}${big ? ' verdict-big' : ''}`}>
      <span className="verdict-icon">
        <Icon name={verdictIcon(verdict.status)} />
      </span>
      <div className="verdict-text">
        <div role="status" className="verdict-status" data-status={verdict.status} ref={focusRef} tabIndex={big ? -1 : undefined}>
          <span className="verdict-headline">{verdict.headline}</span>
          <span className="verdict-meaning">
            {' '}
            <BreakableText text={compact ? verdict.short : verdict.meaning} />
          </span>
        </div>
        {subject && (
          <p className="verdict-subject" data-testid="final-what">
            {subject}
          </p>
        )}
        {verdict.unsafe && (
          <p className="verdict-unsafe" data-testid="unsafe">
            <Icon name="warning" />
            <span>{compact ? SHORT_UNSAFE_TEXT : verdict.unsafe}</span>
          </p>
        )}
        {verdict.remove && <p className="verdict-remove">{verdict.remove}</p>}
        {verdict.next && !compact && <p className="next-step">{verdict.next}</p>}
      </div>
    </div>
  );
}
