/**
 * One card's report in figures and lists: every count next to the list it counts, saying what it counts
 * (ranges, distinct blocks, block writes); how "verified" was established; the range map with the first
 * problem picked.
 */
import { formatBytes, formatDuration, formatSpeed } from '../../shared/format';
import type { ChecksumInfo, SignatureInfo } from '../../shared/authenticity';
import type { FlashLayout, FlashReport, RangeReport } from '../../shared/report';
import type { RangeLive } from '../model/range-model';
import { blocks, blockSpanText, rangeRetriedBlocks, rangesText, reportFacts, retriesText } from '../model/report-facts';
import { signerName } from '../model/image-facts';
import { RangeMap } from './range-map';

const MAX_LISTED = 12;

const capitalise = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/** "Blocks 104–105 did not hold after 3 retries." for each bad span of a failed range. */
export function failedRangeLines(range: RangeReport, mode: 'copy' | 'verify'): string[] {
  const spans = range.badBlocks && range.badBlocks.length > 0 ? range.badBlocks : [{ first: range.first, last: range.last }];
  const tail = mode === 'verify' ? 'differ from the image' : `did not hold after ${retriesText(range.retries)}`;
  return spans.map((span) => {
    const one = span.first === span.last;
    return `${capitalise(blockSpanText(span.first, span.last))} (range ${range.index + 1}) ${one ? tail.replace(/^differ /, 'differs ') : tail}.`;
  });
}

export function rewrittenRangeLine(range: RangeReport): string {
  const distinct = rangeRetriedBlocks(range);
  const what = distinct !== null ? `${blocks(distinct)} rewritten` : `${range.rewrittenBlocks} block writes spent on rewrites`;
  const writes = distinct !== null && range.rewrittenBlocks !== distinct ? ` (${range.rewrittenBlocks} block writes)` : '';
  return `Range ${range.index + 1}, ${blockSpanText(range.first, range.last)}: ${retriesText(range.retries)}, ${what}${writes}, then verified.`;
}

function RangeList({ title, lines, testId }: { title: string; lines: string[]; testId: string }) {
  if (lines.length === 0) return null;
  return (
    <div className="range-list" data-testid={testId}>
      <h3>{title}</h3>
      <ul>
        {lines.slice(0, MAX_LISTED).map((text) => (
          <li key={text}>{text}</li>
        ))}
        {lines.length > MAX_LISTED && <li>…and {lines.length - MAX_LISTED} more (see the saved report).</li>}
      </ul>
    </div>
  );
}

function readbackText(report: FlashReport): string {
  if (report.mode === 'verify') return 'Read from the card itself, without any cache';
  if (report.readback === 'none') return 'Not read back';
  const how = report.readback === 'direct' ? 'From the card itself, without any cache' : "Through the system's cache (this file's filesystem refuses direct reads)";
  const flushed = report.verification?.afterFlush ? ', after a flush' : '';
  // A job that stopped before its last flush has no final pass to speak of (0 bytes): say nothing of it.
  const pass = report.verification?.finalPass;
  const final = pass && pass.bytes > 0 ? `; ${formatBytes(pass.bytes)} checked again after the last flush` : '';
  return `${how}${flushed}${final}`;
}

/** The signature in the report, in the words of the image step (the fingerprint stays in the saved report). */
function signatureText(signature: SignatureInfo): string {
  switch (signature.status) {
    case 'valid':
      return `Signed by ${signerName(signature.signer) ?? 'a trusted key'}`;
    case 'invalid':
      return 'Does not match the block map';
    case 'unknown-key':
      return 'By a key you have not trusted';
    case 'unsigned':
      return 'Not signed';
    case 'not-checked':
      return 'Not checked';
  }
}

function checksumText(checksum: ChecksumInfo): string {
  switch (checksum.status) {
    case 'matches':
      return 'Matches the published sha256';
    case 'mismatch':
      return 'Does NOT match the published sha256';
    case 'pending':
      return 'Not known: the download did not end';
    case 'not-checked':
      return "Not checked as a whole: the block map's checksums prove what was written";
    case 'none':
      return 'None published';
  }
}

interface ReportDetailsProps {
  report: FlashReport;
  layout: FlashLayout | null;
  ranges: readonly RangeLive[];
}

export function ReportDetails({ report, layout, ranges }: ReportDetailsProps) {
  const facts = reportFacts(report);
  const copy = report.mode === 'copy';
  const firstProblem = [...facts.source, ...facts.failed, ...facts.rewritten].sort((a, b) => a.index - b.index)[0]?.index ?? null;
  const rewrittenCount =
    facts.rewritten.length === 0
      ? 'none'
      : facts.retriedBlocks !== null
        ? `${rangesText(facts.rewritten.length)}; ${blocks(facts.retriedBlocks)} needed rewriting (${facts.rewrites} block writes)`
        : `${rangesText(facts.rewritten.length)} (${facts.rewrites} block writes spent on rewrites)`;
  return (
    <div className="report-details">
      <dl className="facts">
        <dt>Ranges verified</dt>
        <dd data-testid="ranges-verified">
          {facts.verified.length} of {facts.total}
        </dd>
        {copy && (
          <>
            <dt>Verified after rewriting</dt>
            <dd data-testid="ranges-rewritten">{rewrittenCount}</dd>
          </>
        )}
        <dt>{copy ? 'Did not hold' : 'Differ from the image'}</dt>
        <dd data-testid="ranges-failed">
          {facts.failed.length === 0 ? 'none' : `${rangesText(facts.failed.length)}, ${blocks(facts.badBlocks)}`}
        </dd>
        {facts.source.length > 0 && (
          <>
            <dt>Image damaged</dt>
            <dd data-testid="ranges-source">{rangesText(facts.source.length)}</dd>
          </>
        )}
        {facts.unreached.length > 0 && (
          <>
            <dt>Not reached</dt>
            <dd data-testid="ranges-unreached">{rangesText(facts.unreached.length)}: the job stopped first</dd>
          </>
        )}
        {facts.skippedBlocks !== null && facts.skippedBlocks > 0 && (
          <>
            <dt>Already on the card</dt>
            <dd>{blocks(facts.skippedBlocks)} found equal and not written</dd>
          </>
        )}
        {report.probe && (
          <>
            <dt>Capacity</dt>
            <dd>{report.probe.status === 'passed' ? `Real: all ${formatBytes(report.probe.claimedBytes)} answer` : `Fake: about ${formatBytes(report.probe.realBytesEstimate)} of ${formatBytes(report.probe.claimedBytes)}`}</dd>
          </>
        )}
        <dt>Read back</dt>
        <dd>{readbackText(report)}</dd>
        <dt>Time</dt>
        <dd>{formatDuration(report.timings.totalMs)}</dd>
        <dt>Speed</dt>
        <dd>{report.averageSpeed > 0 ? formatSpeed(report.averageSpeed) : copy ? 'None: no part of the image was written' : 'None: nothing was read'}</dd>
        {report.image.origin === 'url' && (
          <>
            <dt>Downloaded</dt>
            <dd data-testid="downloaded">{report.image.cachedFile ? "From the download cache (its checksum checked again)" : formatBytes(report.image.downloadedBytes ?? 0)}</dd>
          </>
        )}
        {report.image.signature && report.image.signature.status !== 'not-checked' && (
          <>
            <dt>Signature</dt>
            <dd>{signatureText(report.image.signature)}</dd>
          </>
        )}
        {report.image.checksum && report.image.checksum.status !== 'none' && (
          <>
            <dt>Checksum</dt>
            <dd data-testid="checksum">{checksumText(report.image.checksum)}</dd>
          </>
        )}
      </dl>
      <RangeList
        title={`Image damaged (${rangesText(facts.source.length)})`}
        testId="list-source"
        lines={facts.source.map((r) => `Range ${r.index + 1}, ${blockSpanText(r.first, r.last)}: the image's data does not match its block map.`)}
      />
      <RangeList title={`${copy ? 'Did not hold' : 'Differ from the image'} (${rangesText(facts.failed.length)}, ${blocks(facts.badBlocks)})`} testId="list-failed" lines={facts.failed.flatMap((r) => failedRangeLines(r, report.mode))} />
      <RangeList title={`Verified after rewriting (${rangesText(facts.rewritten.length)})`} testId="list-rewritten" lines={facts.rewritten.map(rewrittenRangeLine)} />
      {layout && <RangeMap layout={layout} ranges={ranges} mode={report.mode} initialSelection={firstProblem} label="This card" />}
    </div>
  );
}
