/** Renderer entry: the Api from the Electron preload, or the browser host's WebSocket when there is none. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createWsApi, hostSocketUrl } from './api/ws-api';
import { App } from './components/app';
import { createAppStore } from './store/app-store';
import { StoreProvider } from './store/store-context';
import './styles/app.css';

const api = window.sureflash ?? createWsApi(new WebSocket(hostSocketUrl(window.location)));
const store = createAppStore(api);
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
