import { describe, expect, it, vi } from 'vitest';

// One limit for every place that takes a retry count. The shared module is replaced by one with a limit of
// 4, so a place that still spells out its own 10 (or 0) gives itself away below.
vi.mock('../../src/shared/retry-limit', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/shared/retry-limit')>();
  const MAX_RETRIES = 4;
  return {
    MIN_RETRIES: 0,
    MAX_RETRIES,
    isRetryCount: (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_RETRIES,
    clampRetries: (value: number) => Math.min(MAX_RETRIES, Math.max(0, Math.round(value))),
    real,
  };
});

const { parseFlashArgs, UsageError } = await import('../../src/main/cli/flash-args');
const { parseArg, retriesSchema, flashRequestSchema } = await import('../../src/main/services/api-validation');
const { normaliseSettings } = await import('../../src/main/services/settings-service');
const mocked = (await import('../../src/shared/retry-limit')) as typeof import('../../src/shared/retry-limit') & {
  real: typeof import('../../src/shared/retry-limit');
};

describe('the retry limit (src/shared/retry-limit.ts)', () => {
  it('is 0..10, whole numbers only', () => {
    const { MIN_RETRIES, MAX_RETRIES, isRetryCount, clampRetries } = mocked.real;
    expect([MIN_RETRIES, MAX_RETRIES]).toEqual([0, 10]);
    expect([0, 3, 10].every(isRetryCount)).toBe(true);
    expect([-1, 11, 2.5, Number.NaN, '3', null].some(isRetryCount)).toBe(false);
    expect([clampRetries(-3), clampRetries(2.4), clampRetries(42)]).toEqual([0, 2, 10]);
  });

  it('bounds the CLI: --checksum-retry above the limit is a usage error naming it', () => {
    expect(parseFlashArgs('copy', ['--checksum-retry=4', 'a', 'b']).job.retries).toBe(4);
    expect(() => parseFlashArgs('copy', ['--checksum-retry=5', 'a', 'b'])).toThrow(UsageError);
    expect(() => parseFlashArgs('copy', ['--checksum-retry=5', 'a', 'b'])).toThrow('at most 4, not 5');
  });

  it('bounds what a renderer may ask for (Api validation)', () => {
    expect(parseArg(retriesSchema, 4, 'retries')).toBe(4);
    expect(() => parseArg(retriesSchema, 5, 'retries')).toThrow('must be at most 4');
    const request = { imagePath: '/img', devices: ['/dev/sdb'], readback: true, retries: 5, acknowledged: [] };
    expect(() => parseArg(flashRequestSchema, request, 'request')).toThrow('request.retries: must be at most 4');
  });

  it('clamps a hand-edited settings file to it', () => {
    expect(normaliseSettings({ retries: 9 }).retries).toBe(4);
    expect(normaliseSettings({ retries: -2 }).retries).toBe(0);
  });
});
