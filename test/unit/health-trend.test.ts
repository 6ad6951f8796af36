import { describe, expect, it } from 'vitest';
import { TREND_RULES, cardTrend } from '../../src/shared/health-trend';
import { MB, outcome } from '../helpers/history-fixtures';

describe('cardTrend', () => {
  it(`needs ${TREND_RULES.minFlashes} counted flashes`, () => {
    expect(cardTrend([])).toMatchObject({ flashes: 0, retries: 'unknown', speed: 'unknown' });
    expect(cardTrend([outcome()])).toMatchObject({ flashes: 1, retries: 'unknown', summary: 'not enough flashes for a trend (1)' });
    // A cancelled flash is not one of them.
    expect(cardTrend([outcome(), outcome({ status: 'cancelled', errorCode: 'CANCELLED' })]).flashes).toBe(1);
  });

  it('retries: the newer half’s mean against the older half’s', () => {
    expect(cardTrend([outcome(), outcome({ retries: 1 })]).retries).toBe('worsening');
    expect(cardTrend([outcome({ retries: 2 }), outcome({ retries: 1 })]).retries).toBe('improving');
    expect(cardTrend([outcome({ retries: 1 }), outcome({ retries: 1 })]).retries).toBe('stable');
  });

  it(`speed: a change of more than ${TREND_RULES.speedChange * 100} % between the halves’ medians`, () => {
    const speeds = (...mbps: (number | null)[]) => cardTrend(mbps.map((s) => outcome({ writeSpeed: s === null ? null : s * MB }))).speed;
    expect(speeds(20, 17.9)).toBe('worsening');
    expect(speeds(20, 18)).toBe('stable');
    expect(speeds(20, 22)).toBe('stable');
    expect(speeds(20, 22.1)).toBe('improving');
    expect(speeds(null, 20)).toBe('unknown');
  });

  it(`looks at the last ${TREND_RULES.window} counted flashes only, and says it in one line`, () => {
    const old = Array.from({ length: 10 }, () => outcome({ retries: 5, writeSpeed: 5 * MB }));
    const recent = [0, 0, 0, 1, 1, 1].map((retries) => outcome({ retries, writeSpeed: 20 * MB }));
    expect(cardTrend([...old, ...recent])).toEqual({
      flashes: 6,
      retries: 'worsening',
      speed: 'stable',
      summary: 'retries worsening (0 → 1 a flash), speed stable (20.0 → 20.0 MB/s), last 6 flashes',
    });
  });
});
