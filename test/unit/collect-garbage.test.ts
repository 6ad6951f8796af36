import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../../src/main/engine/collect-garbage';

describe('collectGarbage', () => {
  it('runs a full collection: an object nothing refers to any more is gone afterwards', async () => {
    const ref = ((): WeakRef<object> => new WeakRef({ rows: Array.from({ length: 10_000 }, (_, i) => ({ i })) }))();
    // A WeakRef's target lives until the current job ends.
    await new Promise((resolve) => setTimeout(resolve, 0));
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
  });
});
