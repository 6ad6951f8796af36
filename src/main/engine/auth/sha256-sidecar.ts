/**
 * Published sha256 values for an image: `IMAGE.sha256` next to it (sha256sum's "HEX  NAME" line, a bare
 * HEX, or BSD's "SHA256 (NAME) = HEX"), else a SHA256SUMS file in the same place (the line for the image's
 * name), or --sha256 HEX. Files and URLs alike: a loader fetches the candidates.
 */
import { EngineError } from '../errors';

export interface ExpectedSha256 {
  hex: string;
  /** Where it came from: "--sha256", or the sidecar's path or URL (display form). */
  source: string;
}

const HEX = /^[0-9a-fA-F]{64}$/;

/** Checks a --sha256 value: 64 hex digits (surrounding spaces ignored). Throws USAGE otherwise. */
export function parseSha256Option(value: string): string {
  const hex = value.trim();
  if (!HEX.test(hex)) throw new EngineError('USAGE', `--sha256 takes the image's SHA-256 as 64 hex digits, not "${value}"`);
  return hex.toLowerCase();
}

/**
 * The sha256 for `name` in a checksum file's text: a line naming it ("HEX  name", "HEX *name", "SHA256
 * (name) = HEX"; a leading "./" or directory ignored), or a lone hash when the file holds just one.
 * Returns null when the file has no entry for the name.
 */
export function sha256For(text: string, name: string): string | null {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const base = (n: string): string => n.replace(/^\*/, '').replace(/^.*\//, '');
  for (const line of lines) {
    const gnu = /^([0-9a-fA-F]{64})\s+\*?(.+)$/.exec(line);
    if (gnu && base(gnu[2]!) === name) return gnu[1]!.toLowerCase();
    const bsd = /^SHA256\s*\((.+)\)\s*=\s*([0-9a-fA-F]{64})$/i.exec(line);
    if (bsd && base(bsd[1]!) === name) return bsd[2]!.toLowerCase();
  }
  if (lines.length === 1) {
    const lone = /^([0-9a-fA-F]{64})(?:\s|$)/.exec(lines[0]!);
    if (lone && !/\s\S/.test(lines[0]!.slice(64))) return lone[1]!.toLowerCase();
  }
  return null;
}

/** A place next to the image where a checksum file may be: how to name it and how to read it. */
export interface SidecarLocation {
  /** IMAGE.sha256 (path or URL). */
  sidecar: string;
  /** SHA256SUMS in the same folder (path or URL). */
  sums: string;
  /** The image's file name, looked up in SHA256SUMS. */
  name: string;
  /** Display form of a location (URLs without credentials or query). */
  show(location: string): string;
  /** The file's text, or null when it does not exist. */
  read(location: string): Promise<string | null>;
}

/**
 * The published sha256 of an image: --sha256 first, else IMAGE.sha256 (which must name the image or hold a
 * lone hash), else its line in SHA256SUMS. Null when none is found.
 */
export async function findSha256(option: string | null, where: SidecarLocation | null): Promise<ExpectedSha256 | null> {
  if (option) return { hex: parseSha256Option(option), source: '--sha256' };
  if (!where) return null;
  const sidecar = await where.read(where.sidecar);
  if (sidecar !== null) {
    const hex = sha256For(sidecar, where.name);
    if (!hex) {
      throw new EngineError('CHECKSUM_MISMATCH', `${where.show(where.sidecar)} does not hold a sha256 for ${where.name}: it belongs to another image. Remove it or give --sha256.`);
    }
    return { hex, source: where.show(where.sidecar) };
  }
  const sums = await where.read(where.sums);
  if (sums !== null) {
    const hex = sha256For(sums, where.name);
    if (hex) return { hex, source: where.show(where.sums) };
  }
  return null;
}
