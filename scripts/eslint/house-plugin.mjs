// The house rules (docs/architecture.md, "Layering"): which room may import which, what the privileged helper
// may reach, and no import cycles. They work on resolved files (scripts/eslint/module-graph.mjs), so
// "../drives", "../drives/index" and "./../drives/unmount" are the same room, and type-only imports, re-exports,
// dynamic import() and require() count like any import.
import { resolve } from 'node:path';
import { ROOT, anyMatcher, importsOnDisk, rootRelative, scanImports } from './module-graph.mjs';

/**
 * @typedef {import('./module-graph.mjs').ImportEdge} ImportEdge
 * @typedef {import('eslint').Rule.RuleContext} RuleContext
 * @typedef {{ files: string[], forbid?: string[], allow?: string[], message: string }} Zone
 */

/**
 * Reports `message` at the specifier of `edge` in the file being linted.
 * @param {RuleContext} context
 * @param {ImportEdge} edge
 * @param {string} message
 */
function reportAt(context, edge, message) {
  const { sourceCode } = context;
  context.report({ loc: { start: sourceCode.getLocFromIndex(edge.pos), end: sourceCode.getLocFromIndex(edge.end) }, message });
}

/** @param {string} file */
const inSrc = (file) => rootRelative(file).startsWith('src/');

/**
 * Which import ids a zone refuses: those matching `forbid`, or, with `allow`, every id that matches none of it.
 * @param {Zone} zone
 * @returns {(id: string) => boolean}
 */
function refuses(zone) {
  const forbidden = anyMatcher(zone.forbid ?? []);
  const allowed = zone.allow ? anyMatcher(zone.allow) : null;
  return (id) => forbidden(id) || (allowed !== null && !allowed(id));
}

const globList = { type: 'array', items: { type: 'string' } };

/** @type {import('eslint').Rule.RuleModule} */
const layers = {
  meta: {
    type: 'problem',
    docs: { description: 'Each room of the house imports only the rooms below it (docs/architecture.md).' },
    schema: [
      {
        type: 'object',
        properties: {
          zones: {
            type: 'array',
            items: {
              type: 'object',
              properties: { files: globList, forbid: globList, allow: globList, message: { type: 'string' } },
              required: ['files', 'message'],
              additionalProperties: false,
            },
          },
        },
        required: ['zones'],
        additionalProperties: false,
      },
    ],
  },
  create(context) {
    const file = context.filename;
    const rel = rootRelative(file);
    /** @type {Zone[]} */
    const zones = context.options[0].zones;
    const active = zones.filter((zone) => anyMatcher(zone.files)(rel)).map((zone) => ({ zone, refuses: refuses(zone) }));
    if (active.length === 0) return {};
    return {
      Program() {
        for (const edge of scanImports(file, context.sourceCode.text)) {
          for (const { zone, refuses: refused } of active) {
            if (refused(edge.id)) reportAt(context, edge, `${rel} imports ${edge.id}: ${zone.message}`);
          }
        }
      },
    };
  },
};

/**
 * The shortest import path from `from` back to `to` over the project's own files under src/, or null.
 * @param {string} from
 * @param {string} to
 * @returns {string[] | null} the files after `from` up to and including `to`
 */
function pathBack(from, to) {
  if (from === to) return [to];
  /** @type {Map<string, string | null>} */
  const parent = new Map([[from, null]]);
  const queue = [from];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const edge of importsOnDisk(next)) {
      if (!edge.file || !inSrc(edge.file) || parent.has(edge.file)) continue;
      parent.set(edge.file, next);
      if (edge.file === to) {
        const path = [to];
        /** @type {string | null} */
        let at = next;
        for (; at !== null && at !== from; at = parent.get(at) ?? null) path.unshift(at);
        return path;
      }
      queue.push(edge.file);
    }
  }
  return null;
}

/** @type {import('eslint').Rule.RuleModule} */
const noCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'No import cycles between the files under src/ (type-only imports count).' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    return {
      Program() {
        const checked = new Set();
        for (const edge of scanImports(file, context.sourceCode.text)) {
          if (!edge.file || !inSrc(edge.file) || checked.has(edge.file)) continue;
          checked.add(edge.file);
          const back = pathBack(edge.file, file);
          if (!back) continue;
          const chain = (edge.file === file ? [file, file] : [file, edge.file, ...back]).map(rootRelative);
          reportAt(context, edge, `Import cycle: ${chain.join(' → ')}. Pass a function or an interface down instead of importing back up.`);
        }
      },
    };
  },
};

/** @type {import('eslint').Rule.RuleModule} */
const helperImports = {
  meta: {
    type: 'problem',
    docs: { description: 'The privileged helper and every file it reaches import only what the helper serves.' },
    schema: [
      {
        type: 'object',
        properties: { entry: { type: 'string' }, allow: globList, message: { type: 'string' } },
        required: ['entry', 'allow', 'message'],
        additionalProperties: false,
      },
    ],
  },
  create(context) {
    const file = context.filename;
    /** @type {{ entry: string, allow: string[], message: string }} */
    const options = context.options[0];
    const entry = resolve(ROOT, options.entry);
    const allowed = anyMatcher(options.allow);
    return {
      Program() {
        const text = context.sourceCode.text;
        /** @param {string} f */
        const edgesOf = (f) => (f === file ? scanImports(file, text) : importsOnDisk(f));
        // The helper side: files reached from the entry through allowed imports only.
        /** @type {Map<string, string | null>} */
        const parent = new Map([[entry, null]]);
        const queue = [entry];
        for (let next = queue.shift(); next !== undefined && !parent.has(file); next = queue.shift()) {
          for (const edge of edgesOf(next)) {
            if (!edge.file || !allowed(edge.id) || parent.has(edge.file)) continue;
            parent.set(edge.file, next);
            queue.push(edge.file);
          }
        }
        if (!parent.has(file)) return;
        const via = [];
        for (let at = parent.get(file) ?? null; at !== null; at = parent.get(at) ?? null) via.unshift(rootRelative(at));
        const where = via.length > 0 ? `${rootRelative(file)} (reached from ${via.join(' → ')})` : rootRelative(file);
        for (const edge of edgesOf(file)) {
          if (!allowed(edge.id)) reportAt(context, edge, `${where} imports ${edge.id}: ${options.message}`);
        }
      },
    };
  },
};

export default {
  meta: { name: 'sureflash-house' },
  rules: { layers, 'no-cycle': noCycle, 'helper-imports': helperImports },
};
