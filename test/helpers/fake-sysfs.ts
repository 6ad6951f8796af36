/**
 * Builds a sysfs-like tree in a temp dir: files with their contents and symlinks (relative, as in /sys), so
 * code that reads sysfs can run against layouts of machines this one is not.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A file's contents (text gets a trailing newline, as sysfs prints it; a Buffer is written as is) or a symlink. */
export type SysfsNode = string | Buffer | { link: string };

/** Path under the sysfs root (no leading slash) → node. */
export type SysfsTree = Record<string, SysfsNode>;

export interface FakeSysfs {
  root: string;
  remove(): Promise<void>;
}

/** Writes every tree given (later ones add to earlier ones) under a fresh temp dir. */
export async function buildSysfs(...trees: SysfsTree[]): Promise<FakeSysfs> {
  const root = await mkdtemp(join(tmpdir(), 'sureflash-sysfs-'));
  for (const tree of trees) {
    for (const [path, node] of Object.entries(tree)) {
      const target = join(root, path);
      await mkdir(dirname(target), { recursive: true });
      if (typeof node === 'string') await writeFile(target, `${node}\n`);
      else if (Buffer.isBuffer(node)) await writeFile(target, node);
      else await symlink(node.link, target);
    }
  }
  return { root, remove: () => rm(root, { recursive: true, force: true }) };
}
