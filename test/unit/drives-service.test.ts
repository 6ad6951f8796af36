import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DriveInfo } from '../../src/shared/api';
import { createDriveService } from '../../src/main/drives/drive-service';

function drive(device: string, patch: Partial<DriveInfo> = {}): DriveInfo {
  return {
    device,
    raw: device,
    description: `Drive ${device}`,
    size: 32e9,
    isSystem: false,
    isRemovable: true,
    isReadOnly: false,
    isVirtual: false,
    isCard: true,
    isUSB: false,
    isLoop: false,
    busType: 'SD',
    mountpoints: [],
    ...patch,
  };
}

/** An enumerator that returns whatever the test puts in `current`, or throws `failNext` once. */
function scriptedEnumerator(initial: DriveInfo[]) {
  const state = { current: initial, failNext: null as Error | null, calls: 0 };
  const enumerate = async (): Promise<DriveInfo[]> => {
    state.calls += 1;
    if (state.failNext) {
      const err = state.failNext;
      state.failNext = null;
      throw err;
    }
    return state.current.map((d) => ({ ...d, mountpoints: [...d.mountpoints] }));
  };
  return { state, enumerate };
}

const INTERVAL = 2000;
const tick = () => vi.advanceTimersByTimeAsync(INTERVAL);

describe('drive service polling', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('does not poll while nobody listens', async () => {
    const { state, enumerate } = scriptedEnumerator([drive('/dev/sdb')]);
    createDriveService({ allowLoop: false, intervalMs: INTERVAL, enumerate });
    await tick();
    await tick();
    expect(state.calls).toBe(0);
  });

  it('pushes the whole list first, then only when something changed', async () => {
    const { state, enumerate } = scriptedEnumerator([drive('/dev/sdb'), drive('/dev/sdc')]);
    const service = createDriveService({ allowLoop: false, intervalMs: INTERVAL, enumerate });
    const pushes: DriveInfo[][] = [];
    const stop = service.subscribe((list) => pushes.push(list));

    await vi.advanceTimersByTimeAsync(0);
    expect(pushes.map((l) => l.map((d) => d.device))).toEqual([['/dev/sdb', '/dev/sdc']]);

    await tick();
    await tick();
    expect(state.calls).toBeGreaterThanOrEqual(3);
    expect(pushes).toHaveLength(1);

    // Only the order changed: same drives, no push.
    state.current = [state.current[1]!, state.current[0]!];
    await tick();
    expect(pushes).toHaveLength(1);

    // A partition got mounted: the whole list is pushed again.
    state.current = [drive('/dev/sdb', { mountpoints: ['/media/boot'] }), drive('/dev/sdc')];
    await tick();
    expect(pushes).toHaveLength(2);
    expect(pushes[1]!.find((d) => d.device === '/dev/sdb')?.mountpoints).toEqual(['/media/boot']);

    // Flags and size count too.
    state.current = [drive('/dev/sdb', { mountpoints: ['/media/boot'], isReadOnly: true }), drive('/dev/sdc')];
    await tick();
    state.current = [drive('/dev/sdb', { mountpoints: ['/media/boot'], isReadOnly: true }), drive('/dev/sdc', { size: 64e9 })];
    await tick();
    expect(pushes).toHaveLength(4);

    // A drive removed.
    state.current = [drive('/dev/sdc', { size: 64e9 })];
    await tick();
    expect(pushes.at(-1)!.map((d) => d.device)).toEqual(['/dev/sdc']);
    stop();
  });

  it('keeps polling after a failed poll and reports the error', async () => {
    const { state, enumerate } = scriptedEnumerator([drive('/dev/sdb')]);
    const errors: unknown[] = [];
    const service = createDriveService({ allowLoop: false, intervalMs: INTERVAL, enumerate, onError: (e) => errors.push(e) });
    const pushes: DriveInfo[][] = [];
    state.failNext = new Error('lsblk exited with 1');
    const stop = service.subscribe((list) => pushes.push(list));

    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toHaveLength(1);
    expect(pushes).toHaveLength(0);

    await tick();
    expect(pushes).toHaveLength(1);

    state.current = [drive('/dev/sdb'), drive('/dev/sdd')];
    state.failNext = new Error('transient');
    await tick();
    expect(pushes).toHaveLength(1);
    await tick();
    expect(pushes).toHaveLength(2);
    expect(errors).toHaveLength(2);
    stop();
  });

  it('stops polling when the last listener leaves and starts fresh on the next subscribe', async () => {
    const { state, enumerate } = scriptedEnumerator([drive('/dev/sdb')]);
    const service = createDriveService({ allowLoop: false, intervalMs: INTERVAL, enumerate });
    const first: DriveInfo[][] = [];
    const second: DriveInfo[][] = [];
    const stopFirst = service.subscribe((list) => first.push(list));
    await vi.advanceTimersByTimeAsync(0);

    // A late subscriber gets the current list at once, without waiting for a change.
    const stopSecond = service.subscribe((list) => second.push(list));
    expect(second).toHaveLength(1);

    stopFirst();
    await tick();
    const callsWithOne = state.calls;
    expect(callsWithOne).toBeGreaterThanOrEqual(2);

    stopSecond();
    await tick();
    await tick();
    await tick();
    expect(state.calls).toBe(callsWithOne);

    const third: DriveInfo[][] = [];
    const stopThird = service.subscribe((list) => third.push(list));
    await vi.advanceTimersByTimeAsync(0);
    expect(third).toHaveLength(1);
    expect(state.calls).toBe(callsWithOne + 1);
    stopThird();
  });

  it('a throwing listener does not stop the others', async () => {
    const { enumerate } = scriptedEnumerator([drive('/dev/sdb')]);
    const errors: unknown[] = [];
    const service = createDriveService({ allowLoop: false, intervalMs: INTERVAL, enumerate, onError: (e) => errors.push(e) });
    const pushes: DriveInfo[][] = [];
    const stopBad = service.subscribe(() => {
      throw new Error('listener broke');
    });
    const stopGood = service.subscribe((list) => pushes.push(list));
    await vi.advanceTimersByTimeAsync(0);
    expect(pushes).toHaveLength(1);
    expect(errors).toHaveLength(1);
    stopBad();
    stopGood();
  });

  it('list() enumerates on demand', async () => {
    vi.useRealTimers();
    const { state, enumerate } = scriptedEnumerator([drive('/dev/sdb')]);
    const service = createDriveService({ allowLoop: false, enumerate });
    expect((await service.list()).map((d) => d.device)).toEqual(['/dev/sdb']);
    expect(state.calls).toBe(1);
  });
});
