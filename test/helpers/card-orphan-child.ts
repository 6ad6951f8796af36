/**
 * A test process that dies holding a stalled card (run by card-janitor.test.ts, bundled with esbuild):
 * starts a card, stalls it, blocks an O_DIRECT read on its loop device, prints what it holds as one JSON
 * line, and waits to be killed.
 */
import { startCard } from './card';
import { readDirect } from './loop';

const card = await startCard({ size: 16 * 1024 * 1024 });
await card.stall();
void readDirect(card.loop, 0, 4096).catch(() => undefined);
await card.waitFor((s) => s.waiting >= 1, 'the read to reach the stalled card');
process.stdout.write(`${JSON.stringify({ loop: card.loop, mountpoint: card.mountpoint, dir: card.dir, pid: card.pid })}\n`);
setInterval(() => undefined, 60_000);
