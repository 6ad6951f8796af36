/**
 * One line of text that never breaks mid-word: when it does not fit it is cut with "…" (in the middle when
 * `keepEnd` keeps its tail, such as a file's extension, in view), the full text is in the tooltip on hover,
 * and the element becomes focusable so keyboard users can show it too.
 */
import { useLayoutEffect, useRef, useState } from 'react';

interface TruncatedTextProps {
  text: string;
  className?: string;
  /** Characters at the end that stay visible when the text is cut ("…lite.img.xz"). */
  keepEnd?: number;
  testId?: string;
}

/** How many characters of a file name to keep at its end: the extensions and a few before them. */
export function fileNameTail(name: string): number {
  const ext = /(\.[A-Za-z0-9]{1,5}){1,2}$/.exec(name)?.[0] ?? '';
  return Math.min(name.length, ext.length + 4);
}

export function TruncatedText({ text, className, keepEnd = 0, testId }: TruncatedTextProps) {
  const ref = useRef<HTMLSpanElement>(null);
  const [cut, setCut] = useState(false);
  const split = keepEnd > 0 && keepEnd < text.length ? text.length - keepEnd : text.length;
  const head = text.slice(0, split);
  const tail = text.slice(split);

  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return undefined;
    const measure = (): void => setCut(element.scrollWidth > element.clientWidth + 1);
    measure();
    if (typeof ResizeObserver === 'undefined') return undefined;
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, [text]);

  return (
    <span
      className={`truncate-box${tail ? ' has-tail' : ''}${cut ? ' is-cut' : ''}${className ? ` ${className}` : ''}`}
      data-full={text}
      title={text}
      data-testid={testId}
      tabIndex={cut ? 0 : undefined}
    >
      <span ref={ref} className="truncate">
        {head}
      </span>
      {tail && <span className="truncate-tail">{tail}</span>}
    </span>
  );
}
