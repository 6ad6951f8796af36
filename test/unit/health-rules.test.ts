import { describe, expect, it } from 'vitest';
import {
  HEALTH_RULES,
  assessHealth,
  countsAgainstCard,
  median,
  sumRanges,
  type FlashOutcome,
  type HealthAssessment,
} from '../../src/shared/health-rules';

const MB = 1e6;
/** A clean verified flash at 20 MB/s; override what a case needs. */
const flash = (over: Partial<FlashOutcome> = {}): FlashOutcome => ({
  status: 'verified',
  errorCode: null,
  retries: 0,
  rewrittenBlocks: 0,
  badBlocks: 0,
  skippedBlocks: 0,
  probe: { ok: true, claimedBytes: 32e9 },
  averageSpeed: 18 * MB,
  writeSpeed: 20 * MB,
  ...over,
});
const retried = (over: Partial<FlashOutcome> = {}): FlashOutcome => flash({ retries: 1, rewrittenBlocks: 3, ...over });
const failedBy = (errorCode: string, over: Partial<FlashOutcome> = {}): FlashOutcome => flash({ status: 'failed', errorCode, ...over });
const codes = (a: HealthAssessment): string[] => a.reasons.map((r) => r.code);
const times = (n: number, f: FlashOutcome): FlashOutcome[] => Array.from({ length: n }, () => f);

describe('countsAgainstCard', () => {
  it('verified and written-unverified flashes count; card faults count; everything else does not', () => {
    expect(countsAgainstCard(flash())).toBe(true);
    expect(countsAgainstCard(flash({ status: 'written-unverified' }))).toBe(true);
    expect(countsAgainstCard(failedBy('READBACK_MISMATCH', { badBlocks: 2 }))).toBe(true);
    expect(countsAgainstCard(failedBy('WRITE_FAILED'))).toBe(true);
    for (const code of ['SOURCE_CHECKSUM_MISMATCH', 'SOURCE_CORRUPT', 'SOURCE_TRUNCATED', 'BMAP_INVALID', 'CANCELLED', 'DEVICE_LOST', 'ELEVATION_REFUSED', 'INTERNAL', 'TARGET_BUSY']) {
      expect(countsAgainstCard(failedBy(code)), code).toBe(false);
    }
    expect(countsAgainstCard(flash({ status: 'cancelled', errorCode: 'CANCELLED', retries: 2 }))).toBe(false);
    expect(countsAgainstCard(flash({ status: 'failed', errorCode: null }))).toBe(false);
  });

  it('blocks that never held or a failed capacity probe count whatever the error code', () => {
    expect(countsAgainstCard(failedBy('SOME_NEW_CODE', { badBlocks: 1 }))).toBe(true);
    expect(countsAgainstCard(failedBy('SOME_NEW_CODE', { probe: { ok: false, claimedBytes: 64e9, realBytes: 8e9 } }))).toBe(true);
  });
});

describe('assessHealth: a clean card', () => {
  it('Keep with no reasons, alone or with a clean past and batch', () => {
    expect(assessHealth(flash(), [])).toEqual({ verdict: 'keep', reasons: [] });
    expect(assessHealth(flash(), times(8, flash()), { writeSpeeds: [21 * MB, 19 * MB, 20 * MB] })).toEqual({ verdict: 'keep', reasons: [] });
  });
});

describe('assessHealth: blocks that never held', () => {
  it('one bad block is Retire, naming the count', () => {
    const a = assessHealth(failedBy('READBACK_MISMATCH', { badBlocks: 1, retries: 3 }), []);
    expect(a.verdict).toBe('retire');
    expect(a.reasons[0]).toMatchObject({ code: 'BAD_BLOCKS', verdict: 'retire', message: expect.stringContaining('1 block did not hold') });
  });

  it('stays Retire in later clean flashes, however long ago (BAD_BLOCKS_BEFORE)', () => {
    const history = [failedBy('READBACK_MISMATCH', { badBlocks: 4 }), ...times(10, flash())];
    expect(assessHealth(flash(), history)).toMatchObject({ verdict: 'retire', reasons: [{ code: 'BAD_BLOCKS_BEFORE' }] });
  });
});

describe('assessHealth: capacity probe', () => {
  it('a failed probe is Retire (counterfeit), with the claimed and real sizes', () => {
    const a = assessHealth(failedBy('SOME_NEW_CODE', { probe: { ok: false, claimedBytes: 64e9, realBytes: 8e9 } }), []);
    expect(a.verdict).toBe('retire');
    expect(a.reasons[0]).toMatchObject({ code: 'CAPACITY_FAKE', message: expect.stringMatching(/64\.0 GB.*8\.0 GB.*counterfeit/) });
  });

  it('an earlier failed probe keeps it Retire; no probe at all is no evidence either way', () => {
    const history = [flash({ probe: { ok: false, claimedBytes: 64e9 } })];
    expect(codes(assessHealth(flash(), history))).toEqual(['CAPACITY_FAKE_BEFORE']);
    expect(assessHealth(flash({ probe: null }), [flash({ probe: null })]).verdict).toBe('keep');
  });
});

describe('assessHealth: retries', () => {
  it('retries in this flash alone are Watch', () => {
    const a = assessHealth(retried({ retries: 2, rewrittenBlocks: 5 }), times(4, flash()));
    expect(a.verdict).toBe('watch');
    expect(a.reasons).toEqual([{ code: 'RETRIES', verdict: 'watch', message: 'Needed 2 retry passes (5 blocks rewritten) before the data held.' }]);
  });

  it('retries on a flash whose blocks never held do not say the data held', () => {
    const a = assessHealth(retried({ retries: 3, rewrittenBlocks: 4, badBlocks: 1, status: 'failed', errorCode: 'READBACK_MISMATCH' }), times(4, flash()));
    expect(a.reasons.find((r) => r.code === 'RETRIES')?.message).toBe('Needed 3 retry passes (4 blocks rewritten) and some blocks still did not hold.');
  });

  it(`recurring: retries in ${HEALTH_RULES.recurringTrouble} of the last ${HEALTH_RULES.recentFlashes} flashes are Retire`, () => {
    // The earlier retried flash is the 5th from the end, counting this one: inside the window.
    const inside = [retried(), ...times(3, flash())];
    expect(assessHealth(retried(), inside)).toMatchObject({ verdict: 'retire', reasons: [{ code: 'RETRIES_RECURRING' }, { code: 'RETRIES' }] });
    // One flash further back: outside the window, so only Watch.
    const outside = [retried(), ...times(4, flash())];
    expect(assessHealth(retried(), outside)).toMatchObject({ verdict: 'watch', reasons: [{ code: 'RETRIES' }] });
  });

  it('recurring trouble in the past is Retire even when this flash was clean', () => {
    expect(assessHealth(flash(), [retried(), flash(), retried()]).verdict).toBe('retire');
  });

  it('flashes that do not count neither fill the window nor count as trouble', () => {
    const notCounted = times(6, flash({ status: 'cancelled', errorCode: 'CANCELLED', retries: 3 }));
    expect(assessHealth(retried(), [retried(), ...notCounted]).verdict).toBe('retire');
    expect(assessHealth(retried(), notCounted).verdict).toBe('watch');
  });

  it('a write error is Watch; two in the recent flashes are Retire', () => {
    expect(assessHealth(failedBy('WRITE_FAILED'), [])).toMatchObject({ verdict: 'watch', reasons: [{ code: 'WRITE_ERROR' }] });
    expect(assessHealth(failedBy('WRITE_FAILED'), [failedBy('WRITE_FAILED')]).verdict).toBe('retire');
  });
});

describe('assessHealth: write speed against the card’s own past', () => {
  const past = times(3, flash({ writeSpeed: 20 * MB }));

  it('under half its past median is Watch; exactly half is not', () => {
    expect(assessHealth(flash({ writeSpeed: 9.99 * MB }), past)).toMatchObject({
      verdict: 'watch',
      reasons: [{ code: 'SLOW_VS_OWN', message: 'Wrote at 10.0 MB/s, under half its usual 20.0 MB/s.' }],
    });
    expect(assessHealth(flash({ writeSpeed: 10 * MB }), past).verdict).toBe('keep');
  });

  it(`needs ${HEALTH_RULES.minSpeedHistory} past speeds; flashes without a speed are not samples`, () => {
    expect(assessHealth(flash({ writeSpeed: 1 * MB }), past.slice(0, 2)).verdict).toBe('keep');
    expect(assessHealth(flash({ writeSpeed: 1 * MB }), [...past.slice(0, 2), flash({ writeSpeed: null }), flash({ writeSpeed: 0 })]).verdict).toBe('keep');
  });

  it(`uses the last ${HEALTH_RULES.speedHistory} flashes only`, () => {
    // Median of the last 10 is 20 MB/s (25 is not under half); over all 20 it would be 60 MB/s.
    const history = [...times(10, flash({ writeSpeed: 100 * MB })), ...times(10, flash({ writeSpeed: 20 * MB }))];
    expect(assessHealth(flash({ writeSpeed: 25 * MB }), history).verdict).toBe('keep');
    expect(assessHealth(flash({ writeSpeed: 9 * MB }), history).verdict).toBe('watch');
  });

  it('a flash without a write speed (a --skip-identical flash that wrote little) takes no part', () => {
    expect(assessHealth(flash({ writeSpeed: null, skippedBlocks: 9000 }), past).verdict).toBe('keep');
  });
});

describe('assessHealth: write speed against the batch', () => {
  it(`under half the median of the other cards is Watch, with at least ${HEALTH_RULES.minBatchOthers} of them`, () => {
    expect(assessHealth(flash({ writeSpeed: 9.9 * MB }), [], { writeSpeeds: [20 * MB, 20 * MB] })).toMatchObject({
      verdict: 'watch',
      reasons: [{ code: 'SLOW_VS_BATCH' }],
    });
    expect(assessHealth(flash({ writeSpeed: 10 * MB }), [], { writeSpeeds: [20 * MB, 20 * MB] }).verdict).toBe('keep');
    expect(assessHealth(flash({ writeSpeed: 1 * MB }), [], { writeSpeeds: [20 * MB] }).verdict).toBe('keep');
    expect(assessHealth(flash({ writeSpeed: 1 * MB }), [], { writeSpeeds: [20 * MB, 0, Number.NaN] }).verdict).toBe('keep');
  });
});

describe('assessHealth: flashes that are not the card’s fault', () => {
  it('a corrupt source, a cancel or a pulled card say so and leave a clean card at Keep', () => {
    for (const f of [failedBy('SOURCE_CHECKSUM_MISMATCH'), flash({ status: 'cancelled', errorCode: 'CANCELLED', retries: 2 }), failedBy('DEVICE_LOST')]) {
      const a = assessHealth(f, times(3, flash()), { writeSpeeds: [100 * MB, 100 * MB] });
      expect(a.verdict, f.errorCode ?? '').toBe('keep');
      expect(codes(a)).toEqual(['NOT_COUNTED']);
    }
  });

  it('the verdict then comes from the card’s latest counted flash', () => {
    expect(assessHealth(failedBy('SOURCE_CORRUPT'), [retried()])).toMatchObject({ verdict: 'watch', reasons: [{ code: 'RETRIES' }, { code: 'NOT_COUNTED' }] });
    expect(assessHealth(failedBy('SOURCE_CORRUPT'), [failedBy('READBACK_MISMATCH', { badBlocks: 1 })]).verdict).toBe('retire');
  });

  it('with no counted flash at all it is Keep with NO_EVIDENCE', () => {
    expect(codes(assessHealth(failedBy('CANCELLED', { status: 'cancelled' }), []))).toEqual(['NOT_COUNTED', 'NO_EVIDENCE']);
  });
});

describe('assessHealth: several reasons', () => {
  it('lists every reason, worst first, and the verdict is the worst', () => {
    const a = assessHealth(failedBy('READBACK_MISMATCH', { badBlocks: 2, retries: 3, writeSpeed: 2 * MB }), times(3, flash()), {
      writeSpeeds: [20 * MB, 20 * MB],
    });
    expect(a.verdict).toBe('retire');
    expect(codes(a)).toEqual(['BAD_BLOCKS', 'RETRIES', 'SLOW_VS_OWN', 'SLOW_VS_BATCH']);
  });
});

describe('median and sumRanges', () => {
  it('median of odd and even counts, null when empty', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });

  it('sums ranges, counting bad-block spans inclusively', () => {
    expect(
      sumRanges([
        { retries: 1, rewrittenBlocks: 2, badBlocks: [{ first: 10, last: 12 }, { first: 20, last: 20 }], skippedBlocks: 5 },
        { retries: 2, rewrittenBlocks: 1, badBlocks: 3 },
        { retries: 0, rewrittenBlocks: 0 },
      ]),
    ).toEqual({ retries: 3, rewrittenBlocks: 3, badBlocks: 7, skippedBlocks: 5 });
  });
});
