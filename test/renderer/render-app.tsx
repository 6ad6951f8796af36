/** Mounts the whole renderer over a fake Api, as main.tsx does over the real one. */
import { act, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from '../../src/renderer/components/app';
import { createAppStore } from '../../src/renderer/store/app-store';
import { StoreProvider } from '../../src/renderer/store/store-context';
import type { DriveInfo, JobTarget } from '../../src/shared/api';
import { createFakeApi, drive, layout, type FakeApi } from './fake-api';

export function renderApp(api: FakeApi) {
  const store = createAppStore(api);
  const view = render(
    <StoreProvider store={store}>
      <App />
    </StoreProvider>,
  );
  return { store, ...view };
}

/**
 * The app mid-job: image picked, the drives chosen, Flash! pressed (after the question, if one came), and
 * job-1 started with `layout` on every chosen drive.
 */
export async function startFlashing(drives: DriveInfo[] = [drive({ device: '/dev/sdb' })], mode: 'copy' | 'verify' = 'copy') {
  const api = createFakeApi(drives);
  const user = userEvent.setup();
  const view = renderApp(api);
  await user.click(await screen.findByRole('button', { name: 'Select image' }));
  await screen.findByLabelText('Image details');
  act(() => view.store.getState().selectDevices(drives.map((d) => d.device)));
  await user.click(await screen.findByRole('button', { name: mode === 'copy' ? 'Flash!' : 'Verify without writing' }));
  const targets: JobTarget[] = drives.map((d) => ({ device: d.device, description: d.description, size: d.size, identity: null }));
  act(() => api.pushFlash({ type: 'started', jobId: 'job-1', layout, targets }));
  return { api, user, view };
}
