import { promises as fsp } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';

async function isReadableFile(path: string): Promise<boolean> {
  try {
    const stat = await fsp.stat(path);
    if (!stat.isFile()) return false;
    await fsp.access(path, fsp.constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Candidate bmap paths for an image, in bmaptool's order: IMAGE.bmap, then one extension stripped at a
 * time (os.img.xz -> os.img.xz.bmap, os.img.bmap, os.bmap). Only the file name is stripped, never a
 * dotted directory; a leading dot does not count as an extension.
 */
export function bmapCandidates(imagePath: string): string[] {
  const dir = dirname(imagePath);
  let name = basename(imagePath);
  const out: string[] = [];
  for (;;) {
    out.push(join(dir, `${name}.bmap`));
    const ext = extname(name);
    if (ext === '') return out;
    name = name.slice(0, -ext.length);
  }
}

/** The first readable bmap file next to the image (see bmapCandidates), or null. Never for stdin. */
export async function discoverBmap(imagePath: string): Promise<string | null> {
  if (imagePath === '-') return null;
  for (const candidate of bmapCandidates(imagePath)) {
    if (await isReadableFile(candidate)) return candidate;
  }
  return null;
}
