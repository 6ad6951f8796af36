import { act, cleanup, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFakeApi } from './fake-api';
import { renderApp } from './render-app';

// The renderer takes the retry limit from src/shared/retry-limit.ts like main does: with the limit replaced
// by 4, the retries control and the store follow it (a hard-coded 10 in either would show here).
vi.mock('../../src/shared/retry-limit', () => ({
  MIN_RETRIES: 0,
  MAX_RETRIES: 4,
  clampRetries: (value: number) => Math.min(4, Math.max(0, Math.round(value))),
  isRetryCount: (value: unknown) => typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 4,
}));

afterEach(cleanup);

describe('the retry limit in the renderer', () => {
  it('bounds the retries control and refuses what the store would save past it', async () => {
    const api = createFakeApi();
    const { store } = renderApp(api);
    act(() => store.getState().openPanel('settings'));
    const input = await screen.findByRole('spinbutton', { name: /Retries/i });
    expect([input.getAttribute('min'), input.getAttribute('max')]).toEqual(['0', '4']);
    expect(await store.getState().updateSettings({ retries: 9 })).toBe(false);
    expect(store.getState().settingsError).toMatch(/from 0 to 4/);
    expect(api.calls.filter((c) => c.method === 'setSettings')).toEqual([]);
    expect(await store.getState().updateSettings({ retries: 4 })).toBe(true);
    expect(api.calls).toContainEqual({ method: 'setSettings', args: [{ retries: 4 }] });
  });
});
