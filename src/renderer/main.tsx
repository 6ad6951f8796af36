/** Renderer entry: the Api from the Electron preload, or the browser host's WebSocket when there is none. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { connectToHost } from './api/ws-api';
import { App } from './components/app';
import { createAppStore } from './store/app-store';
import { StoreProvider } from './store/store-context';
import { browserAlerts } from './store/verdict-alert';
import './styles/theme.css';
import './styles/base.css';
import './styles/steps.css';
import './styles/progress.css';
import './styles/range-map.css';
import './styles/dialogs.css';
import './styles/final.css';
import './styles/station.css';

// The store does not exist yet when the socket is made: report a lost host through this late binding.
let onLost: (message: string) => void = () => undefined;
const api = window.sureflash ?? connectToHost(window, (message) => onLost(message));
const store = createAppStore(api, browserAlerts(window));
onLost = (message) => store.getState().connectionLost(message);
const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <StoreProvider store={store}>
        <App />
      </StoreProvider>
    </StrictMode>,
  );
}
