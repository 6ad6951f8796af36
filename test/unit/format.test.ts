import { describe, expect, it } from 'vitest';
import { formatBytes, formatBytesExact, formatDuration, formatEta, formatSpeed } from '../../src/shared/format';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [512, '512 B'],
    [999, '999 B'],
    [1000, '1 kB'],
    [1536, '1.5 kB'],
    [3_904_897_024, '3.9 GB'],
    [7_818_182_656, '7.8 GB'],
    [16e9, '16 GB'],
    [274_877_906_944, '274.9 GB'],
    [2e12, '2 TB'],
  ])('%d bytes → %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('moves to the next unit instead of printing 1000', () => {
    expect(formatBytes(999_960_000)).toBe('1 GB');
    expect(formatBytes(999.7)).toBe('1 kB');
  });

  it('prints a placeholder for unknown sizes', () => {
    expect(formatBytes(null)).toBe('—');
    expect(formatBytes(Number.NaN)).toBe('—');
  });
});

describe('formatBytesExact', () => {
  it('groups thousands without depending on the locale', () => {
    expect(formatBytesExact(7_818_182_656)).toBe('7,818,182,656 bytes');
    expect(formatBytesExact(999)).toBe('999 bytes');
    expect(formatBytesExact(1)).toBe('1 byte');
    expect(formatBytesExact(null)).toBe('—');
  });
});

describe('formatSpeed', () => {
  it('keeps one decimal so the width is steady', () => {
    expect(formatSpeed(45_200_000)).toBe('45.2 MB/s');
    expect(formatSpeed(45_000_000)).toBe('45.0 MB/s');
    expect(formatSpeed(0)).toBe('0 B/s');
    expect(formatSpeed(1_234_567_890)).toBe('1.2 GB/s');
  });

  it('prints a placeholder for an unknown speed', () => {
    expect(formatSpeed(Number.POSITIVE_INFINITY)).toBe('—');
    expect(formatSpeed(-1)).toBe('—');
    expect(formatSpeed(null)).toBe('—');
  });
});

describe('formatEta', () => {
  it.each([
    [0, '0 s'],
    [0.2, '1 s'],
    [45, '45 s'],
    [80, '1 min 20 s'],
    [120, '2 min'],
    [3725, '1 h 2 min'],
    [90_061, '1 d 1 h'],
  ])('%d s → %s', (seconds, text) => {
    expect(formatEta(seconds)).toBe(text);
  });

  it('rounds up so it never claims to be done early', () => {
    expect(formatEta(79.1)).toBe('1 min 20 s');
  });

  it('prints a placeholder while the speed is unknown', () => {
    expect(formatEta(Number.POSITIVE_INFINITY)).toBe('—');
    expect(formatEta(null)).toBe('—');
  });
});

describe('formatDuration', () => {
  it.each([
    [420, '420 ms'],
    [2_400, '2.4 s'],
    [9_990, '10 s'],
    [80_000, '1 min 20 s'],
    [3_720_000, '1 h 2 min'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('prints a placeholder for missing timings', () => {
    expect(formatDuration(-5)).toBe('—');
    expect(formatDuration(undefined)).toBe('—');
  });
});
