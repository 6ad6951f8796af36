/** Mounts the whole renderer over a fake Api, as main.tsx does over the real one. */
import { act, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from '../../src/renderer/components/app';
import { createAppStore } from '../../src/renderer/store/app-store';
import { StoreProvider } from '../../src/renderer/store/store-context';
import { createFakeApi, drive, layout, type FakeApi, targets } from './fake-api';

export function renderApp(api: FakeApi) {
  const store = createAppStore(api);
  const view = render(
    <StoreProvider store={store}>
      <App />
    </StoreProvider>,
  );
  return { store, ...view };
}

/** The app mid-job: image picked, /dev/sdb chosen, Flash! pressed, and job-1 started with `layout`. */
export async function startFlashing() {
  const api = createFakeApi([drive({ device: '/dev/sdb' })]);
  const user = userEvent.setup();
  const view = renderApp(api);
  await user.click(await screen.findByRole('button', { name: 'Select image' }));
  await screen.findByLabelText('Image details');
  view.store.getState().selectDevice('/dev/sdb');
  await user.click(await screen.findByRole('button', { name: 'Flash!' }));
  act(() => api.pushFlash({ type: 'started', jobId: 'job-1', layout, targets }));
  return { api, user, view };
}
