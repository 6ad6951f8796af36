/** Station mode in the renderer: the store slice over a fake Api, and the view a technician reads from the bench. */
import { act, cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../src/renderer/components/app';
import { createAppStore } from '../../src/renderer/store/app-store';
import { applyStationEvent, emptyStation, stationSlots } from '../../src/renderer/store/station-state';
import { StoreProvider } from '../../src/renderer/store/store-context';
import type { VerdictAlert, VerdictAlerts } from '../../src/renderer/store/verdict-alert';
import type { StationEvent } from '../../src/shared/station';
import { fail } from '../../src/shared/result';
import { createFakeApi, drive, type FakeApi } from './fake-api';
import { armed, done, KEEP, progress, refusal, result, RETIRE, SESSION, summary, taken, WATCH } from './station-fixtures';

afterEach(cleanup);

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const fold = (events: StationEvent[]) => events.reduce((view, event) => applyStationEvent(view, event, () => '2026-12-06T09:01:00.000Z'), emptyStation);

describe('station state (reducer)', () => {
  it('armed, taken, progress, done, removed: one tile per slot that turns back to waiting', () => {
    const view = fold([armed(), taken(1, '/dev/sdb'), progress(1, '/dev/sdb', 43), taken(2, '/dev/sdc'), done(result(2, '/dev/sdc', 'verified', KEEP))]);
    expect(view.status.state).toBe('armed');
    expect(view.status.untouched.map((u) => u.device)).toEqual(['/dev/sda']);
    const tiles = stationSlots(view);
    expect(tiles.map((t) => [t.card?.card, t.card?.state, t.card?.progress?.percent])).toEqual([
      [1, 'flashing', 43],
      [2, 'verified', undefined],
    ]);
    const removed = applyStationEvent(view, { type: 'card-removed', sessionId: SESSION, card: 2, device: '/dev/sdc', slot: tiles[1]?.slot ?? null });
    expect(stationSlots(removed).map((t) => t.card?.card ?? null)).toEqual([1, null]);
  });

  it('ignores events of another session; a new "armed" starts afresh', () => {
    const view = fold([armed(), taken(1, '/dev/sdb')]);
    const stray: StationEvent = { ...taken(5, '/dev/sdx'), sessionId: 'old-session' } as StationEvent;
    expect(applyStationEvent(view, stray)).toBe(view);
    const again = applyStationEvent(view, { ...armed([]), sessionId: 'session-2' } as StationEvent);
    expect(again.status.cards).toEqual([]);
    expect(again.status.sessionId).toBe('session-2');
  });

  it('configured slots have their tiles from the start, and a card lands in the slot it sits behind', () => {
    const slotB = '/devices/pci0000:00/usb2/2-1.b';
    const view = fold([armed([], { slots: ['/devices/pci0000:00/usb2/2-1.a', slotB] }), taken(1, '/dev/sdb')]);
    expect(stationSlots(view).map((t) => [t.key, t.card?.device ?? null])).toEqual([
      ['/devices/pci0000:00/usb2/2-1.a', null],
      [slotB, '/dev/sdb'],
    ]);
  });

  it('stopping, cancelling and stopped with the summary', () => {
    let view = fold([armed(), taken(1, '/dev/sdb')]);
    view = applyStationEvent(view, { type: 'stopping', sessionId: SESSION, running: 1, cancelling: false });
    expect(view.status.state).toBe('stopping');
    view = applyStationEvent(view, { type: 'stopping', sessionId: SESSION, running: 1, cancelling: true });
    expect(view.status.state).toBe('cancelling');
    view = applyStationEvent(view, { type: 'stopped', sessionId: SESSION, summary: summary({ taken: 1, verified: 0, cancelled: 1, allVerified: false }) });
    expect(view.status.state).toBe('stopped');
    expect(view.status.summary?.cancelled).toBe(1);
  });
});

function mount(drives = [drive({ device: '/dev/sda', description: 'Backup disk' }), drive({ device: '/dev/sdz', description: 'Camera card' })]) {
  const api = createFakeApi(drives);
  const announced: VerdictAlert[] = [];
  let prepared = 0;
  const alerts: VerdictAlerts = { prepare: () => void (prepared += 1), announce: (a) => void announced.push(a) };
  const store = createAppStore(api, alerts);
  render(
    <StoreProvider store={store}>
      <App />
    </StoreProvider>,
  );
  return { api, store, announced, prepared: () => prepared, user: userEvent.setup() };
}

async function armThroughTheForm(api: FakeApi, user: ReturnType<typeof userEvent.setup>) {
  await user.click(await screen.findByRole('button', { name: 'Station mode' }));
  await user.click(screen.getByRole('button', { name: 'Select image' }));
  await screen.findByTestId('station-image');
  await user.click(screen.getByRole('button', { name: 'Arm station' }));
  act(() => api.pushStation(armed(['/dev/sda', '/dev/sdz'])));
}

describe('station view', () => {
  it('before arming: the drives present now are named as never touched; arming sends the form and the settings', async () => {
    const { api, user, prepared } = mount();
    await user.click(await screen.findByRole('button', { name: 'Station mode' }));
    expect(screen.getByTestId('untouched-count').textContent).toBe('These 2 drives are present now and will never be touched:');
    const untouched = within(screen.getByRole('list', { name: 'Drives never touched' }));
    expect(untouched.getAllByRole('listitem').map((li) => li.textContent)).toEqual(['Backup disk/dev/sda · 16 GB', 'Camera card/dev/sdz · 16 GB']);
    expect((screen.getByRole('button', { name: 'Arm station' }) as HTMLButtonElement).disabled).toBe(true);

    await user.click(screen.getByRole('button', { name: 'Select image' }));
    await screen.findByTestId('station-image');
    const cards = screen.getByRole('spinbutton', { name: 'Cards at a time' });
    await user.clear(cards);
    await user.type(cards, '0');
    expect(screen.getByRole('alert').textContent).toBe('Cards at a time must be a whole number from 1 to 16.');
    expect((screen.getByRole('button', { name: 'Arm station' }) as HTMLButtonElement).disabled).toBe(true);
    await user.clear(cards);
    await user.type(cards, '2');
    const size = screen.getByRole('spinbutton', { name: 'Largest drive taken (GB)' });
    await user.clear(size);
    await user.type(size, '64');
    await user.click(screen.getByRole('checkbox', { name: 'Only write what differs' }));
    await user.type(screen.getByRole('textbox', { name: 'Only these slots (optional)' }), '/devices/pci0000:00/usb2/2-1');
    await user.click(screen.getByRole('button', { name: 'Arm station' }));
    expect(api.stationRequests).toEqual([
      {
        imagePath: '/images/os.img.zst',
        bmapPath: '/images/os.img.bmap',
        retries: 3,
        readback: true,
        probe: true,
        skipIdentical: true,
        maxCards: 2,
        slots: ['/devices/pci0000:00/usb2/2-1'],
        maxSizeBytes: 64e9,
      },
    ]);
    // Sound and notifications may only start from the user's own click.
    expect(prepared()).toBe(1);
  });

  it('a refused arming (main asked and was told no) stays on the form with the reason', async () => {
    const { api, user } = mount();
    api.armResult = fail('NOT_CONFIRMED', 'The station was not armed: nothing will be written.');
    await user.click(await screen.findByRole('button', { name: 'Station mode' }));
    await user.click(screen.getByRole('button', { name: 'Select image' }));
    await screen.findByTestId('station-image');
    await user.click(screen.getByRole('button', { name: 'Arm station' }));
    expect((await screen.findByRole('alert')).textContent).toBe('The station was not armed: nothing will be written.');
    expect(screen.getByRole('button', { name: 'Arm station' })).toBeTruthy();
  });

  it('one tile per card: Flashing 43 %, Verified — remove, Failed — retire, with identity, health and reasons; a sound on each verdict', async () => {
    const { api, user, announced } = mount();
    await armThroughTheForm(api, user);
    expect(screen.getByTestId('station-state').textContent).toBe('Armed: waiting for cards');
    expect(screen.getByTestId('station-untouched').textContent).toBe('Never touched: 2 drives present when armed');
    expect(screen.getAllByRole('status').map((s) => s.textContent)).toEqual(['Waiting']);

    act(() => {
      api.pushStation(taken(1, '/dev/sdb'));
      api.pushStation(taken(2, '/dev/sdc'));
      api.pushStation(taken(3, '/dev/sdd'));
      api.pushStation(progress(1, '/dev/sdb', 43.7));
    });
    expect(screen.getByTestId('station-state').textContent).toBe('Armed: 3 cards flashing');
    const slots = () => within(screen.getByRole('list', { name: 'Slots' })).getAllByRole('listitem', { name: /^USB port|^Next card/ });
    expect(slots().map((li) => within(li).getByRole('status').textContent)).toEqual(['Flashing 43 %', 'Flashing 0 %', 'Flashing 0 %', 'Waiting']);
    expect(within(slots()[0] as HTMLElement).getByRole('progressbar').getAttribute('aria-valuenow')).toBe('43');

    act(() => {
      api.pushStation(done(result(1, '/dev/sdb', 'verified', WATCH)));
      api.pushStation(done(result(2, '/dev/sdc', 'failed', RETIRE, { badBlocks: 3, retries: 3 })));
      api.pushStation({ type: 'card-lost', sessionId: SESSION, result: result(3, '/dev/sdd', 'lost', null) });
    });
    const [first, second, third] = slots() as [HTMLElement, HTMLElement, HTMLElement];
    expect(within(first).getByRole('status').textContent).toBe('Verified — remove');
    expect(first.className).toContain('tone-good');
    expect(first.textContent).toContain('SanDisk Ultra · 32 GB · /dev/sdb');
    expect(first.textContent).toContain('Health: Watch');
    expect(first.textContent).toContain('2 rewrites were needed.');
    expect(within(second).getByRole('status').textContent).toBe('Failed — retire');
    expect(second.className).toContain('tone-bad');
    expect(second.textContent).toContain('3 blocks never held: the card is failing.');
    expect(second.textContent).toContain('Retries 3 · bad blocks 3');
    expect(within(third).getByRole('status').textContent).toBe('Removed too early — do not use');
    expect(announced.map((a) => [a.title, a.good])).toEqual([
      ['Verified — remove: card 1', true],
      ['Failed — retire: card 2', false],
      ['Removed too early — do not use: card 3', false],
    ]);
  });

  it('no sound or notification when notifications are off in Settings', async () => {
    const { api, user, announced, store } = mount();
    await act(() => store.getState().updateSettings({ notifications: false }));
    await armThroughTheForm(api, user);
    act(() => {
      api.pushStation(taken(1, '/dev/sdb'));
      api.pushStation(done(result(1, '/dev/sdb', 'verified', KEEP)));
    });
    expect(screen.getAllByRole('status').map((s) => s.textContent)).toContain('Verified — remove');
    expect(announced).toEqual([]);
  });

  it('Stop on a tile asks first, then cancels that card only', async () => {
    const { api, user } = mount();
    await armThroughTheForm(api, user);
    act(() => {
      api.pushStation(taken(1, '/dev/sdb'));
      api.pushStation(taken(2, '/dev/sdc'));
    });
    await user.click(screen.getByRole('button', { name: 'Stop card 2' }));
    const ask = within(screen.getByRole('alertdialog', { name: 'Stop flashing /dev/sdc?' }));
    expect(ask.getByText(/^The other cards go on\./)).toBeTruthy();
    await user.click(ask.getByRole('button', { name: 'Stop' }));
    expect(api.calls.filter((c) => c.method === 'cancelStationCard')).toEqual([{ method: 'cancelStationCard', args: [2] }]);
  });

  it('a drive that appears and is not taken is named with the reason', async () => {
    const { api, user } = mount();
    await armThroughTheForm(api, user);
    act(() => api.pushStation({ type: 'card-refused', sessionId: SESSION, refusal: refusal('/dev/sdq', 'TOO_LARGE') }));
    expect(within(screen.getByRole('list', { name: 'Drives not taken' })).getByRole('listitem').textContent).toBe(
      'Not taken: External disk (/dev/sdq, 256 GB): It is larger than the station takes (128 GB).',
    );
  });

  it('Stop station lets running cards finish, then Cancel running cards; the summary at the end', async () => {
    const { api, user } = mount();
    await armThroughTheForm(api, user);
    act(() => api.pushStation(taken(1, '/dev/sdb')));
    await user.click(screen.getByRole('button', { name: 'Stop station' }));
    expect(api.calls).toContainEqual({ method: 'stopStation', args: [false] });
    act(() => api.pushStation({ type: 'stopping', sessionId: SESSION, running: 1, cancelling: false }));
    expect(screen.getByTestId('station-state').textContent).toBe('Stopping: 1 card finishing, no new cards');
    expect(screen.queryByRole('button', { name: 'Stop station' })).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Cancel running cards' }));
    // Cancelling leaves a partial image: asked first, and "Keep flashing" keeps it going.
    const ask = within(screen.getByRole('alertdialog', { name: 'Stop flashing?' }));
    await user.click(ask.getByRole('button', { name: 'Keep flashing' }));
    expect(api.calls).not.toContainEqual({ method: 'stopStation', args: [true] });
    await user.click(screen.getByRole('button', { name: 'Cancel running cards' }));
    await user.click(within(screen.getByRole('alertdialog', { name: 'Stop flashing?' })).getByRole('button', { name: 'Stop' }));
    expect(api.calls).toContainEqual({ method: 'stopStation', args: [true] });
    act(() => {
      api.pushStation({ type: 'stopping', sessionId: SESSION, running: 1, cancelling: true });
      api.pushStation(done(result(1, '/dev/sdb', 'cancelled', null)));
      api.pushStation({ type: 'stopped', sessionId: SESSION, summary: summary({ taken: 3, verified: 1, failed: 1, cancelled: 1, allVerified: false, health: { keep: 1, watch: 0, retire: 1 } }) });
    });
    expect(screen.getByTestId('station-summary').textContent).toBe('1 of 3 cards verified');
    expect(screen.getByText('1 verified · 1 failed · 1 cancelled · 1 to retire')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Cancel running cards' })).toBeNull();
    // Arm again returns to the form; leaving station mode returns to the three steps.
    await user.click(screen.getByRole('button', { name: 'Arm again' }));
    expect(screen.getByRole('button', { name: 'Arm station' })).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Back' }));
    expect(screen.getByRole('heading', { name: 'Image' })).toBeTruthy();
    // Station mode opened again starts at the form, not at the old summary.
    await user.click(screen.getByRole('button', { name: 'Station mode' }));
    expect(screen.getByRole('button', { name: 'Arm station' })).toBeTruthy();
    expect(screen.queryByTestId('station-summary')).toBeNull();
  });

  it("a card's history: flashes, retries, bad blocks, health with reasons and the trend", async () => {
    const { api, user } = mount();
    const cardId = 'fp-32000000000-sdb';
    const row = (id: number, day: number, status: 'verified' | 'failed', retries: number, badBlocks: number) => ({
      id,
      card: { cardId, idSource: 'fingerprint' as const, bus: 'usb' as const, vendor: 'SanDisk', model: 'Ultra', serial: null, serialScope: null, cid: null, sizeBytes: 32e9, slot: null, device: '/dev/sdb' },
      sessionId: SESSION,
      station: 'bench-1',
      startedAt: `2026-12-0${day}T09:00:00.000Z`,
      finishedAt: null,
      durationMs: null,
      image: { name: 'os.img.zst', hash: null, size: 2e9 },
      bmap: null,
      outcome: { status, errorCode: status === 'failed' ? 'READBACK_MISMATCH' : null, retries, rewrittenBlocks: retries, badBlocks, skippedBlocks: 0, probe: null, averageSpeed: 18e6, writeSpeed: 20e6 },
      errorMessage: null,
      health: status === 'failed' ? RETIRE : KEEP,
    });
    api.history = [
      {
        summary: {
          card: row(1, 1, 'verified', 0, 0).card,
          flashes: 3,
          firstAt: '2026-12-01T09:00:00.000Z',
          lastAt: '2026-12-03T09:00:00.000Z',
          lastStatus: 'failed',
          health: 'retire',
          totals: { retries: 4, rewrittenBlocks: 4, badBlocks: 3 },
          trend: { flashes: 3, retries: 'worsening', speed: 'stable', summary: 'retries worsening (0 → 2 a flash), speed stable (20.0 → 20.0 MB/s), last 3 flashes' },
        },
        flashes: [row(1, 1, 'verified', 0, 0), row(2, 2, 'verified', 1, 0), row(3, 3, 'failed', 3, 3)],
      },
    ];
    await armThroughTheForm(api, user);
    act(() => {
      api.pushStation(taken(1, '/dev/sdb'));
      api.pushStation(done(result(1, '/dev/sdb', 'failed', RETIRE)));
    });
    await user.click(screen.getByRole('button', { name: 'History of card 1' }));
    const dialog = within(await screen.findByRole('dialog', { name: 'Card history' }));
    await dialog.findByTestId('history-flashes');
    expect(api.calls).toContainEqual({ method: 'cardHistory', args: [cardId] });
    expect(dialog.getByTestId('history-flashes').textContent).toBe('3');
    expect(dialog.getByTestId('history-retries').textContent).toBe('4');
    expect(dialog.getByTestId('history-bad-blocks').textContent).toBe('3');
    expect(dialog.getByTestId('history-health').textContent).toBe('Retire');
    expect(dialog.getByTestId('history-trend').textContent).toMatch(/^retries worsening/);
    expect(dialog.getByText('3 blocks never held: the card is failing.')).toBeTruthy();
    const flashes = dialog.getByRole('list', { name: 'Flashes' }).querySelectorAll('li');
    expect([...flashes].map((li) => li.querySelector('.history-result')?.textContent)).toEqual(['Failed', 'Verified', 'Verified']);
    expect(flashes[0]?.textContent).toContain('retries 3 · rewritten 3 · bad blocks 3 · 20.0 MB/s · Retire');
    await user.click(dialog.getByRole('button', { name: 'Close' }));
    expect(screen.queryByRole('dialog', { name: 'Card history' })).toBeNull();

    // Every card the history holds, from the station screen: one button per card, back to the list from a card.
    await user.click(screen.getByRole('button', { name: 'Card history' }));
    const list = within(await screen.findByRole('dialog', { name: 'Card history' }));
    const button = await list.findByRole('button', { name: `SanDisk Ultra, 32 GB: ${cardId}` });
    expect(api.calls).toContainEqual({ method: 'historyCards', args: [] });
    expect(button.textContent).toMatch(/^SanDisk Ultra, 32 GBRetire3 flashes, last 2026-12-0\d \d\d:\d\d Failed · 3 bad blocks · retries worsening, speed stable$/);
    await user.click(button);
    await list.findByTestId('history-flashes');
    await user.click(list.getByRole('button', { name: 'All cards' }));
    expect(await list.findByRole('button', { name: `SanDisk Ultra, 32 GB: ${cardId}` })).toBeTruthy();
  });

  it('the card list says so when nothing was recorded yet', async () => {
    const { user } = mount();
    await user.click(await screen.findByRole('button', { name: 'Station mode' }));
    await user.click(screen.getByRole('button', { name: 'Card history' }));
    const list = within(await screen.findByRole('dialog', { name: 'Card history' }));
    expect((await list.findByText(/^No card has been recorded yet/)).textContent).toBe(
      'No card has been recorded yet: the station and every flash of the app record the cards they write.',
    );
  });

  it('a window opened while the station runs shows it at once', async () => {
    const api = createFakeApi([]);
    api.stationState = { ...(fold([armed(['/dev/sda']), taken(1, '/dev/sdb')]).status) };
    const store = createAppStore(api);
    render(
      <StoreProvider store={store}>
        <App />
      </StoreProvider>,
    );
    await settle();
    expect(await screen.findByTestId('station-state')).toBeTruthy();
    expect(screen.getAllByRole('status').map((s) => s.textContent)).toEqual(['Flashing 0 %', 'Waiting']);
    // Station mode cannot be left while it runs.
    expect(screen.queryByRole('button', { name: 'Back' })).toBeNull();
  });
});
