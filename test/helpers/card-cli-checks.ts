/**
 * Checks for tests that run the real CLI against a card fixture: the exit and report of a run, where the
 * card's media differs from the image, and the report's ranges and bad blocks. Also a describe for suites
 * that need root, FUSE and bmaptool (the bmap oracle), skipped with the reason when one is missing.
 */
import { describe, expect } from 'vitest';
import type { FlashReport } from '../../src/shared/report';
import { bmaptoolAvailable } from './bmap-fixtures';
import type { Card } from './card';
import { describeRun, type CliResult } from './cli';
import { readBytes } from './loop';
import { describeRoot } from './root';

const BLOCK = 4096;

/** Block numbers in [first, last] where the card's stored bytes (its media) differ from the image. */
export async function blocksDiffering(card: Card, image: string, first: number, last: number): Promise<number[]> {
  const offset = first * BLOCK;
  const length = (last - first + 1) * BLOCK;
  const want = await readBytes(image, offset, length);
  const got = await card.storedBytes(offset, want.length);
  const out: number[] = [];
  for (let b = 0; b * BLOCK < want.length; b++) {
    if (!want.subarray(b * BLOCK, (b + 1) * BLOCK).equals(got.subarray(b * BLOCK, (b + 1) * BLOCK))) out.push(first + b);
  }
  return out;
}

/** Every bad block span of a report, ascending (windows of one range settle in any order). */
export function sortedBadBlocks(report: FlashReport): { first: number; last: number }[] {
  return report.ranges.flatMap((r) => r.badBlocks ?? []).sort((a, b) => a.first - b.first);
}

/** The report's range that holds `block`. */
export function rangeHolding(report: FlashReport, block: number): FlashReport['ranges'][number] {
  const range = report.ranges.find((r) => r.first <= block && block <= r.last);
  if (!range) throw new Error(`no range in the report holds block ${block}`);
  return range;
}

/** Expects the run to have exited with `code` (not hung) and written a report; returns the report. */
export function expectExit(result: CliResult, code: number): FlashReport {
  expect(result.hung, describeRun(result)).toBe(false);
  expect(result.code, describeRun(result)).toBe(code);
  expect(result.report, describeRun(result)).not.toBeNull();
  return result.report as FlashReport;
}

/** Root + FUSE suites that also need bmaptool; says so instead of passing silently. */
export function describeCardCli(name: string, fn: () => void): void {
  if (!bmaptoolAvailable()) {
    process.stderr.write(`[skip] ${name}: needs bmaptool (Debian package bmap-tools)\n`);
    describe.skip(`${name} (skipped: needs bmaptool)`, fn);
    return;
  }
  describeRoot(name, fn, { fuse: true });
}
