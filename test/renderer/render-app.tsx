/** Mounts the whole renderer over a fake Api, as main.tsx does over the real one. */
import { render } from '@testing-library/react';
import { App } from '../../src/renderer/components/app';
import { createAppStore } from '../../src/renderer/store/app-store';
import { StoreProvider } from '../../src/renderer/store/store-context';
import type { FakeApi } from './fake-api';

export function renderApp(api: FakeApi) {
  const store = createAppStore(api);
  const view = render(
    <StoreProvider store={store}>
      <App />
    </StoreProvider>,
  );
  return { store, ...view };
}
