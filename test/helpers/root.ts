import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe } from 'vitest';

/** True when this process runs as root (needed for losetup and for mounting FUSE). */
export const isRoot: boolean = typeof process.getuid === 'function' && process.getuid() === 0;

/** The interpreter that has python3-fusepy (Debian's, not a pyenv shim). Override with WORN_CARD_PYTHON. */
export const fusePython: string = process.env.WORN_CARD_PYTHON ?? '/usr/bin/python3';

function succeeds(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 });
  return result.status === 0;
}

let loopProbe: boolean | undefined;
let fuseProbe: boolean | undefined;

/** Root, /dev/loop-control and a free loop device reported by `losetup --find`. Cached. */
export function canUseLoop(): boolean {
  loopProbe ??= isRoot && existsSync('/dev/loop-control') && succeeds('losetup', ['--find']);
  return loopProbe;
}

/** Root, /dev/fuse, and an interpreter that can `import fusepy` (python3-fusepy). Cached. */
export function canUseFuse(): boolean {
  fuseProbe ??= isRoot && existsSync('/dev/fuse') && succeeds(fusePython, ['-c', 'import fusepy']);
  return fuseProbe;
}

/** What a root-only suite needs. Root itself is always needed. */
export interface RootNeeds {
  /** Loop devices (losetup). Default true. */
  loop?: boolean;
  /** FUSE and python3-fusepy (the worn card). Default false. */
  fuse?: boolean;
}

/** Why a suite with these needs cannot run here, or null when it can. */
export function rootSkipReason(needs: RootNeeds = {}): string | null {
  const missing: string[] = [];
  if (!isRoot) missing.push('root');
  else {
    if ((needs.loop ?? true) && !canUseLoop()) missing.push('loop devices (losetup, /dev/loop-control)');
    if (needs.fuse === true && !canUseFuse()) missing.push(`FUSE (/dev/fuse, python3-fusepy for ${fusePython})`);
  }
  return missing.length === 0 ? null : `needs ${missing.join(', ')}`;
}

/**
 * `describe` for suites that need root and real devices. When something is missing the suite is
 * skipped, and the reason is written into its name and to stderr so the skip is never silent.
 */
export function describeRoot(name: string, fn: () => void, needs: RootNeeds = {}): void {
  const reason = rootSkipReason(needs);
  if (reason === null) {
    describe(name, fn);
    return;
  }
  process.stderr.write(`[skip] ${name}: ${reason}\n`);
  describe.skip(`${name} (skipped: ${reason})`, fn);
}
