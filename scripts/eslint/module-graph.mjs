// The project's import graph for the house lint rules (scripts/eslint/house-plugin.mjs): every import of a
// file (static, type-only, re-export, dynamic import(), require), each resolved the way TypeScript resolves
// it with the project's tsconfig.json. Files are read and scanned once per lint run (cached by size and
// modification time); the file being linted is scanned from the text ESLint holds, which may differ from disk.
import { readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The project root: the folder holding tsconfig.json and src/. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const BUILTINS = new Set(builtinModules);

/**
 * One import of a file.
 * @typedef {object} ImportEdge
 * @property {string} specifier as written, e.g. "../services/types" or "node:fs/promises"
 * @property {number} pos offset of the specifier text in the importing file
 * @property {number} end
 * @property {string} id what it names, for the rules: a root-relative path with forward slashes for the
 *   project's own files ("src/main/services/types.ts"; unresolved relative paths keep their written form,
 *   resolved against the importer), "node:NAME" for Node built-ins, the package name (and subpath) otherwise
 * @property {string | null} file the absolute path of a project source file it resolves to, else null
 */

/** @type {ts.CompilerOptions | undefined} */
let compilerOptions;
/** @type {ts.ModuleResolutionCache | undefined} */
let resolutionCache;

function options() {
  if (!compilerOptions) {
    const configPath = join(ROOT, 'tsconfig.json');
    const config = ts.readConfigFile(configPath, ts.sys.readFile);
    compilerOptions = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT, undefined, configPath).options;
    resolutionCache = ts.createModuleResolutionCache(ROOT, (name) => name, compilerOptions);
  }
  return compilerOptions;
}

/**
 * A path under ROOT as the rules see it: relative, forward slashes.
 * @param {string} file
 */
export function rootRelative(file) {
  return relative(ROOT, file).split(sep).join('/');
}

/**
 * @param {string} specifier
 * @param {string} importer absolute path of the importing file
 * @returns {Omit<ImportEdge, 'pos' | 'end' | 'specifier'>}
 */
function resolveSpecifier(specifier, importer) {
  const bare = specifier.startsWith('node:') ? specifier.slice(5) : specifier;
  if (specifier.startsWith('node:') || BUILTINS.has(bare.split('/')[0] ?? '')) return { id: `node:${bare}`, file: null };
  const resolved = ts.resolveModuleName(specifier, importer, options(), ts.sys, resolutionCache).resolvedModule;
  const relativeImport = specifier.startsWith('.') || isAbsolute(specifier);
  if (resolved && !resolved.isExternalLibraryImport && !resolved.resolvedFileName.endsWith('.d.ts')) {
    const file = resolve(resolved.resolvedFileName);
    return { id: rootRelative(file), file };
  }
  if (relativeImport) return { id: rootRelative(resolve(dirname(importer), specifier)), file: null };
  return { id: specifier, file: null };
}

/** @type {Map<string, { stamp: string, edges: ImportEdge[] }>} */
const cache = new Map();

/**
 * The imports in `text`, a file at `file`.
 * @param {string} file absolute path
 * @param {string} text
 * @returns {ImportEdge[]}
 */
export function scanImports(file, text) {
  return ts.preProcessFile(text, true, true).importedFiles.map((ref) => ({
    specifier: ref.fileName,
    pos: ref.pos,
    end: ref.end,
    ...resolveSpecifier(ref.fileName, file),
  }));
}

/**
 * The imports of a file on disk (cached while its size and modification time stay the same).
 * @param {string} file absolute path
 * @returns {ImportEdge[]}
 */
export function importsOnDisk(file) {
  let stamp;
  try {
    const info = statSync(file);
    stamp = `${info.size}:${info.mtimeMs}`;
  } catch {
    return [];
  }
  const hit = cache.get(file);
  if (hit && hit.stamp === stamp) return hit.edges;
  const edges = scanImports(file, readFileSync(file, 'utf8'));
  cache.set(file, { stamp, edges });
  return edges;
}

/**
 * Converts the simple globs the rules take into a test: `**` any depth, `*` within one path segment.
 * A pattern without a slash that ends in `*` (e.g. "node:*") matches by prefix.
 * @param {string} pattern
 * @returns {(id: string) => boolean}
 */
export function globMatcher(pattern) {
  // "src/main/drives/**" also names the folder itself (an import of "../drives" that did not resolve).
  const folder = pattern.endsWith('/**');
  const body = folder ? pattern.slice(0, -3) : pattern;
  let source = '';
  for (let i = 0; i < body.length; i++) {
    const char = body[i] ?? '';
    if (char === '*' && body[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (char === '*') source += pattern.includes('/') ? '[^/]*' : '.*';
    else source += char.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  // A package or built-in name also covers its subpaths: "node:fs" covers "node:fs/promises".
  const regex = new RegExp(folder || !pattern.startsWith('src/') ? `^${source}(/.*)?$` : `^${source}$`);
  return (id) => regex.test(id);
}

/**
 * @param {readonly string[]} patterns
 * @returns {(id: string) => boolean}
 */
export function anyMatcher(patterns) {
  const tests = patterns.map(globMatcher);
  return (id) => tests.some((test) => test(id));
}
