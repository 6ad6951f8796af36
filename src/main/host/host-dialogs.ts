/**
 * The browser host's stand-ins for the OS dialogs: "Select image" answers with a path queued by a test
 * (or the --pick option); "Save report" writes into the save directory.
 */
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { EngineError } from '../engine/errors';
import type { Dialogs } from '../services/types';

export interface HostDialogs extends Dialogs {
  /** Queues the answer to the next "Select image" (null = the user cancelled). */
  queuePick(path: string | null): void;
}

export function createHostDialogs(options: { pick: string | null; saveDir: string | null }): HostDialogs {
  const queued: (string | null)[] = [];
  return {
    queuePick(path) {
      queued.push(path);
    },
    async pickImage() {
      if (queued.length > 0) return queued.shift() ?? null;
      if (options.pick !== null) return options.pick;
      throw new EngineError('USAGE', 'The browser host has no file dialog: start it with --pick PATH to choose the image.');
    },
    async saveReportPath(defaultName) {
      const dir = options.saveDir ?? tmpdir();
      await mkdir(dir, { recursive: true });
      return join(dir, basename(defaultName));
    },
  };
}
