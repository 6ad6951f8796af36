import { describe, expect, it } from 'vitest';
import { rereadFingerprint } from '../../src/shared/flash-outcome';
import type { FlashReport } from '../../src/shared/report';

const report = (bytesWritten: number, code: string | null): FlashReport =>
  ({ totals: { bytesWritten }, error: code ? { code, message: code } : undefined }) as unknown as FlashReport;

describe('rereadFingerprint: which cards are read again after their flash', () => {
  it('a fingerprint-known card that was written and still answers is read again', () => {
    expect(rereadFingerprint(report(4096, null), 'fingerprint')).toBe(true);
    expect(rereadFingerprint(report(4096, 'READBACK_MISMATCH'), 'fingerprint')).toBe(true);
  });

  it('never a card that stalled (the read would hang) or is gone, nor one nothing was written to', () => {
    expect(rereadFingerprint(report(4096, 'DEVICE_STALLED'), 'fingerprint')).toBe(false);
    expect(rereadFingerprint(report(4096, 'DEVICE_LOST'), 'fingerprint')).toBe(false);
    expect(rereadFingerprint(report(0, null), 'fingerprint')).toBe(false);
  });

  it('a card with a serial or CID keeps its id: nothing to read', () => {
    expect(rereadFingerprint(report(4096, null), 'serial')).toBe(false);
    expect(rereadFingerprint(report(4096, null), 'cid')).toBe(false);
  });
});
