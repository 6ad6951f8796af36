/** The window: the three steps while setting up, then the running job, then the outcome. */
import { useEffect } from 'react';
import { useApp } from '../store/store-context';
import { ConfirmDialog } from './confirm-dialog';
import { FinalScreen } from './final-screen';
import { FlashStep } from './flash-step';
import { ImageStep } from './image-step';
import { ProgressScreen } from './progress-screen';
import { TargetStep } from './target-step';

export function App() {
  const screen = useApp((s) => s.screen);
  const init = useApp((s) => s.init);
  const connectionError = useApp((s) => s.connectionError);
  useEffect(() => init(), [init]);

  return (
    <main className="app">
      <h1 className="title">Sureflash</h1>
      {connectionError && (
        <p className="error banner" role="alert">
          {connectionError}
        </p>
      )}
      {screen === 'setup' && (
        <div className="steps">
          <ImageStep />
          <TargetStep />
          <FlashStep />
        </div>
      )}
      {screen === 'flashing' && <ProgressScreen />}
      {screen === 'final' && <FinalScreen />}
      <ConfirmDialog />
    </main>
  );
}
