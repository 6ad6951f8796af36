/** About and help: the version, what "Verified" promises, and where settings, the log and reports are kept. */
import { useApp } from '../store/store-context';
import { ModalDialog } from './modal-dialog';
import { TruncatedText } from './truncated-text';

export function AboutDialog() {
  const info = useApp((s) => s.appInfo);
  const openPanel = useApp((s) => s.openPanel);
  return (
    <ModalDialog title="About Sureflash" onClose={() => openPanel(null)} className="about">
      <div className="dialog-scroll">
        <p className="about-version" data-testid="about-version">
          Version {info?.version ?? '—'}
          {info ? ` · ${info.platform}` : ''}
        </p>
        <h3>What "Verified" means</h3>
        <p>
          Sureflash writes only the parts of the image its block map names, checks the image against the map's checksums as it reads it, then
          reads every written block back from the card itself — not from a cache — after the card was told to flush, and compares it. Blocks
          that did not hold are rewritten (up to "Retries" in Settings). A last pass reads again after the final flush, and "Check capacity"
          first proves the card is as large as it claims.
        </p>
        <p>"Verified" is only shown when all of that passed: the card's storage holds the image.</p>
        <h3>The other outcomes</h3>
        <ul className="about-list">
          <li>
            <strong>Failed</strong>: some blocks did not hold, the image is damaged, or the card went away. A card that was partly overwritten must
            not be used.
          </li>
          <li>
            <strong>Cancelled</strong>: you stopped it. Once writing had begun, the card holds part of an image until it is flashed again.
          </li>
          <li>
            <strong>Written, not checked</strong>: "Read back and verify" was off, so nothing proves the card holds the image.
          </li>
        </ul>
        <h3>Where things are</h3>
        <dl className="facts">
          <dt>Settings and data</dt>
          <dd>{info ? <TruncatedText text={info.dataDir} /> : '—'}</dd>
          <dt>Log</dt>
          <dd>{info?.logFile ? <TruncatedText text={info.logFile} /> : 'Not written to a file'}</dd>
          <dt>Reports</dt>
          <dd>{info?.reportsDir ? <TruncatedText text={info.reportsDir} /> : 'Saved where you choose with "Save report"'}</dd>
        </dl>
      </div>
      <div className="dialog-buttons">
        <button type="button" className="primary" onClick={() => openPanel(null)}>
          Close
        </button>
      </div>
    </ModalDialog>
  );
}
