/**
 * Messages from main and the engine are shared with the command line and may name its options
 * ("--checksum-retry=N"). The GUI never shows a flag: each known one becomes the control that does the same
 * here, and an unknown one is dropped with its clause rather than shown.
 */

const FLAG_CONTROLS: [RegExp, string][] = [
  [/retry is off: --checksum-retry(=N)? rewrites such blocks/g, 'retries are off: raise "Retries" in Settings to rewrite such blocks'],
  [/pass the image and give the bmap with --bmap/g, 'choose the image itself: Sureflash finds the .bmap next to it'],
  [/--checksum-retry(=N|=\d+)?/g, '"Retries" in Settings'],
  [/--no-readback/g, '"Read back and verify" in Settings'],
  [/--skip-identical/g, '"Only write what differs" in Settings'],
  [/--bmap(-sig)? (FILE|URL)/g, 'a .bmap file next to the image'],
  [/--bmap\b/g, 'a .bmap file next to the image'],
  [/--nobmap/g, 'an image without a .bmap file'],
];

/** The clause around an option the GUI has no control for, e.g. "; without --decoder builtin an installed … is used". */
const UNKNOWN_FLAG_CLAUSE = /[;,(]?\s*[^;,()]*\s--[a-z][a-z-]*(=\S+| [a-z]+\b)?[^;,()]*\)?/g;

/** The message with every command-line option replaced by the GUI control that does the same, or removed. */
export function guiText(message: string): string {
  let text = message;
  for (const [flag, control] of FLAG_CONTROLS) text = text.replace(flag, control);
  if (/\s--[a-z]/.test(` ${text}`)) text = text.replace(UNKNOWN_FLAG_CLAUSE, '');
  return text.replace(/\s{2,}/g, ' ').trim();
}

/** True when the text names a command-line option (tests use it to keep flags out of the DOM). */
export const namesCliFlag = (text: string): boolean => /(^|\s|\()--[a-z][a-z-]*/.test(text);
