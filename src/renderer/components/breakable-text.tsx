/**
 * Text that may hold a web address or a long path (error messages from main): the address may wrap after
 * its separators (/ . ? & = - _ :) instead of running out of its box, and words stay whole.
 */
import { Fragment } from 'react';

const LONG_TOKEN = /(\S*[/\\]\S*)/;
const AFTER_SEPARATOR = /(?<=[/\\.?&=_:-])/;

export function BreakableText({ text }: { text: string }) {
  return (
    <>
      {text.split(LONG_TOKEN).map((part, i) =>
        i % 2 === 1 ? (
          <Fragment key={i}>
            {part.split(AFTER_SEPARATOR).map((piece, j) => (
              <Fragment key={j}>
                {j > 0 && <wbr />}
                {piece}
              </Fragment>
            ))}
          </Fragment>
        ) : (
          <Fragment key={i}>{part}</Fragment>
        ),
      )}
    </>
  );
}
