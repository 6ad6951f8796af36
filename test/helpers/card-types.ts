/**
 * Options and counters of the card fixture (test/fixtures/card/card.py). Block numbers are the card's
 * 4 KiB blocks (byte address / 4096), whatever the loop device's sector size.
 */
import type { LoopOptions } from './loop';

/** A block that misbehaves the first `count` times an operation touches it; count -1: every time. */
export interface CardBlockPlan {
  block: number;
  count: number;
}

/** The bus: one command at a time, each taking its length / speed. MB is 10^6 bytes. */
export interface CardBusOptions {
  /** Read speed in MB/s (default 80, a common SD card). */
  readMBps?: number;
  /** Write speed in MB/s (default 20). */
  writeMBps?: number;
  /**
   * A command arriving within this many ms after the previous one ended starts where it ended, as if
   * queued (default 1): the kernel sends the fixture one direct-I/O request at a time, and the round trip
   * between two is this rig's, not the card's. 0: every gap is bus idle time.
   */
  slackMs?: number;
}

export interface CardOptions {
  /** Declared card size in bytes, a multiple of 512. The backing file is sparse, so large cards cost nothing. */
  size: number;
  /** Stores touching these blocks keep one flipped byte (with a write cache: its write-backs). */
  faults?: CardBlockPlan[];
  /** Reads of these blocks from the media fail with EIO (a cached block is served from the cache). */
  readErrors?: CardBlockPlan[];
  /** Stores of these blocks fail with EIO and store nothing (with a write cache: the write-back, lost). */
  writeErrors?: CardBlockPlan[];
  /** Counterfeit: the media stores only this many bytes (a multiple of 4096, at most `size`). */
  realSize?: number;
  /** Beyond `realSize`: addresses wrap modulo it (default), or writes are dropped and reads give zeros. */
  overflow?: 'wrap' | 'drop';
  /** A volatile write cache of this many 4 KiB blocks (FIFO), written back on eviction or flush. */
  cacheBlocks?: number;
  /** A speed-limited bus (speeds default to 80 MB/s read, 20 MB/s write); without it, as fast as FUSE goes. */
  bus?: CardBusOptions;
  /** Parent directory for the card's working dir and backing file (default: the OS temp dir). */
  dir?: string;
  /** Options for the loop device, or false to serve the file without one. */
  loop?: LoopOptions | false;
  /** Largest single FUSE write/read the fixture asks for (the kernel caps it, at 128 KiB with libfuse 2). */
  maxWrite?: number;
  /** One FUSE request at a time (the fixture's default is a thread per request; a stall needs those). */
  singleThreaded?: boolean;
}

/** Counters kept by the fixture since it started (JSON of `.control/stats`). */
export interface CardStats {
  /** Declared size. */
  size: number;
  blockSize: number;
  /** FUSE write calls on the card (one loop request may become several, up to max_write each). */
  writes: number;
  bytesWritten: number;
  reads: number;
  bytesRead: number;
  /** fsync calls on the card file: the loop device sends one for each flush of /dev/loopN. */
  flushes: number;
  /** Blocks stored damaged on the media (per block and store: a write touching two faulty blocks counts 2). */
  corruptedWrites: number;
  /** Block number (as a string key) -> damaged stores so far. */
  corruptedByBlock: Record<string, number>;
  /** Block number -> damaged stores left in the current plan (-1: dead, 0: spent). */
  faultsLeft: Record<string, number>;
  /** The first 1000 flips: absolute card byte offset, and the index of the card write that caused the store. */
  flips: { block: number; offset: number; write: number }[];
  /** Reads that failed with EIO (media error), and the read-error plan left. */
  readErrors: number;
  readErrorsLeft: Record<string, number>;
  /** Stores that failed with EIO, and the write-error plan left. */
  writeErrors: number;
  writeErrorsLeft: Record<string, number>;
  /** Bytes the media stores (the declared size unless counterfeit). */
  realSize: number;
  overflow: 'wrap' | 'drop';
  /** Bytes stored at a wrapped address (counterfeit, wrap). */
  wrappedBytes: number;
  /** Bytes written beyond realSize and dropped (counterfeit, drop). */
  droppedBytes: number;
  /** The write cache, or null without one. */
  cache: {
    blocks: number;
    /** Blocks in the cache now (all dirty). */
    cached: number;
    evictions: number;
    /** Blocks written back to the media (evictions and flushes). */
    writeBacks: number;
    damagedWriteBacks: number;
    /** Write-backs that failed (write-error block): the block's data is lost. */
    lostWriteBacks: number;
  } | null;
  bus: {
    readMBps: number;
    writeMBps: number;
    slackMs: number;
    /** Reads, writes and flushes run on the bus so far. */
    commands: number;
    /** Bus time the reads and writes were scheduled to take: bytes / speed, summed. */
    readSeconds: number;
    writeSeconds: number;
    /** From the first command's start to the last one's end, as measured by the fixture. */
    spanSeconds: number;
    /** Bus time with no command, the gaps longer than the slack: the host left the card idle. */
    idleSeconds: number;
    /** Time commands took beyond their schedule: the fixture was slower than the modelled speed. */
    overrunSeconds: number;
  };
  /** The bus is stalled; `waiting` commands (FUSE calls) are blocked on it now; `stalls` so far. */
  stalled: boolean;
  waiting: number;
  stalls: number;
  pid: number;
}
