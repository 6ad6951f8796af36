/**
 * Small checks shared by the card fixture's self-tests: where two buffers differ, how a kernel call settles
 * (with a deadline, so a card that never answers fails the test instead of hanging it), and cards that are
 * stopped after each test.
 */
import { promises as fsp } from 'node:fs';
import { afterEach, expect } from 'vitest';
import { startCard, type Card, type CardOptions } from './card';

export const BLOCK = 4096;

/** Offsets where two equally long buffers differ. */
export function diffOffsets(expected: Uint8Array, actual: Uint8Array): number[] {
  expect(actual.length).toBe(expected.length);
  const out: number[] = [];
  for (let i = 0; i < expected.length; i += 1) if (expected[i] !== actual[i]) out.push(i);
  return out;
}

/** 4 KiB block numbers (counted from `firstBlock`) where two equally long buffers differ, each once. */
export function diffBlocks(expected: Uint8Array, actual: Uint8Array, firstBlock = 0): number[] {
  return [...new Set(diffOffsets(expected, actual).map((offset) => firstBlock + Math.floor(offset / BLOCK)))];
}

/** fdatasync on a block device (the kernel sends the device a flush), through a handle of its own. */
export async function fdatasyncDevice(device: string): Promise<void> {
  const handle = await fsp.open(device, 'r+');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Settles `promise` into its error (or null), failing loudly instead of hanging if the kernel never answers. */
export async function errorOf(promise: Promise<unknown>, what: string, ms = 20_000): Promise<NodeJS.ErrnoException | null> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise.then(() => null, (error: NodeJS.ErrnoException) => error), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise with a flag that says whether it has settled yet (to prove a call is still blocked). */
export function tracked<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let done = false;
  const settledPromise = promise.finally(() => { done = true; });
  // The caller awaits `promise`; this branch only flips the flag and must not raise an unhandled rejection.
  settledPromise.catch(() => undefined);
  return { promise, settled: () => done };
}

/**
 * Registers an afterEach that stops every card started through the returned function in that test (the
 * fixture's stderr goes to the test output when the test failed).
 */
export function cardsPerTest(): (options: CardOptions) => Promise<Card> {
  const cards: Card[] = [];
  afterEach(async ({ task }) => {
    for (const card of cards.splice(0)) {
      if (task.result?.state === 'fail') process.stderr.write(`card stderr (${task.name}):\n${card.stderr()}\n`);
      await card.stop();
    }
  });
  return async (options) => {
    const card = await startCard(options);
    cards.push(card);
    return card;
  };
}
