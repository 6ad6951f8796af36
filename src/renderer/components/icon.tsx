/**
 * An icon from assets/icons, drawn in the current text colour (the SVG is a CSS mask, so it follows the
 * theme). Decorative: the words next to it say what it means.
 */
export type IconName =
  | 'image'
  | 'drive'
  | 'drives'
  | 'flash'
  | 'verified'
  | 'failed'
  | 'cancelled'
  | 'written'
  | 'settings'
  | 'help'
  | 'link'
  | 'warning'
  | 'verify'
  | 'signed';

export function Icon({ name, className }: { name: IconName; className?: string }) {
  return <span className={`icon icon-${name}${className ? ` ${className}` : ''}`} aria-hidden="true" />;
}
