/**
 * The window: a header (Settings, About), then the three steps while setting up and flashing (the flash
 * step becomes the progress; below it the range map, or one tile per card), then the outcome.
 */
import { useEffect } from 'react';
import { jobCards } from '../store/job-state';
import { useApp } from '../store/store-context';
import { AboutDialog } from './about-dialog';
import { ConfirmDialog } from './confirm-dialog';
import { CardTiles } from './card-tiles';
import { FinalScreen } from './final-screen';
import { FlashStep } from './flash-step';
import { Icon } from './icon';
import { ImageStep } from './image-step';
import { RangeMap } from './range-map';
import { SettingsDialog } from './settings-dialog';
import { TargetStep } from './target-step';
import { CardHistoryDialog } from './card-history-dialog';
import { StationScreen } from './station-screen';

function Header() {
  const openPanel = useApp((s) => s.openPanel);
  const screen = useApp((s) => s.screen);
  const stationOpen = useApp((s) => s.stationOpen);
  const openStation = useApp((s) => s.openStation);
  return (
    <header className="app-header">
      <span className="brand">
        <span className="logo" aria-hidden="true" />
        <h1 className="title">Sureflash</h1>
      </span>
      <nav className="header-actions" aria-label="App">
        {!stationOpen && (
          <button type="button" className="ghost" onClick={() => openStation(true)} disabled={screen !== 'setup'} title={screen !== 'setup' ? 'Station mode can be armed once this flash ends' : 'Flash every card inserted, one after another'}>
            <Icon name="drives" /> Station mode
          </button>
        )}
        <button type="button" className="ghost" onClick={() => openPanel('settings')} disabled={screen === 'flashing'} title={screen === 'flashing' ? 'Settings can be changed once this flash ends' : undefined}>
          <Icon name="settings" /> Settings
        </button>
        <button type="button" className="ghost" onClick={() => openPanel('about')}>
          <Icon name="help" /> About
        </button>
      </nav>
    </header>
  );
}

function Running() {
  const job = useApp((s) => s.job);
  const cards = jobCards(job);
  const single = cards.length === 1 ? cards[0] : undefined;
  if (cards.length > 1) return <CardTiles />;
  if (!single || !job.layout) return null;
  return (
    <div className="running-map">
      <RangeMap layout={job.layout} ranges={single.ranges} bytesDone={single.progress?.bytesDone ?? 0} mode={job.mode} />
    </div>
  );
}

export function App() {
  const screen = useApp((s) => s.screen);
  const init = useApp((s) => s.init);
  const connectionError = useApp((s) => s.connectionError);
  const panel = useApp((s) => s.panel);
  const theme = useApp((s) => s.settings.theme);
  const several = useApp((s) => s.job.devices.length > 1);
  const stationOpen = useApp((s) => s.stationOpen);
  const historyOpen = useApp((s) => s.historyPanel !== null);
  useEffect(() => init(), [init]);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  return (
    <div className={`app ${stationOpen ? 'screen-station' : `screen-${screen}`}${several ? ' several' : ''}`}>
      <Header />
      {connectionError && (
        <p className="error banner" role="alert">
          {connectionError}
        </p>
      )}
      <main className="app-main">
        {stationOpen && <StationScreen />}
        {!stationOpen && screen !== 'final' && (
          <div className="steps">
            <ImageStep locked={screen === 'flashing'} />
            <TargetStep locked={screen === 'flashing'} />
            <FlashStep />
          </div>
        )}
        {!stationOpen && screen === 'flashing' && <Running />}
        {!stationOpen && screen === 'final' && <FinalScreen />}
      </main>
      {panel === 'settings' && <SettingsDialog />}
      {panel === 'about' && <AboutDialog />}
      {historyOpen && <CardHistoryDialog />}
      <ConfirmDialog />
    </div>
  );
}
