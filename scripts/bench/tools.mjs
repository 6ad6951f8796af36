// The measured commands per image format, and how one sample of each is taken and read.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure } from './proc.mjs';
import { ETCHER_FLASH_SCRIPT } from './etcher.mjs';

/**
 * @typedef {object} ToolSpec
 * @property {string} name        the column/key: bmaptool, sureflash, etcher-sdk, dd, xz -dc, ...
 * @property {string} group       the --tools group it belongs to
 * @property {string} label       what ran, for the table
 * @property {string | null} skip why it cannot run (null when it can)
 * @property {boolean} writes     writes the loop device (its result is checked against the bmap)
 * @property {(ctx: SampleContext) => Promise<import('./summary.mjs').Sample>} sample
 */

/**
 * @typedef {object} SampleContext
 * @property {string} workDir
 * @property {string} device       the loop device
 * @property {string[]} [devices]  several loop devices at once (a sureflash batch), instead of `device`
 * @property {number} deviceSize
 * @property {number} nice         niceness for the measured commands (0: unchanged)
 */

/**
 * @typedef {object} ToolEnv
 * @property {string} image        the image file for this format
 * @property {string} bmap
 * @property {string | null} sureflashCli   dist/main/cli.cjs when built
 * @property {{ dir: string } | null} etcher
 * @property {string | null} etcherSkip     why etcher-sdk is unavailable
 * @property {string[]} [sureflashExtra]    extra CLI flags (memory case: --checksum-retry=3)
 */

/** @param {import('./proc.mjs').Measured} m */
function failureNote(m) {
  return m.ok ? undefined : `exit ${m.exitCode}: ${m.stderrTail || m.stdout.trim().slice(-300)}`;
}

/**
 * Sureflash CLI copy (readback on). The report it writes is read back into the sample.
 * @param {ToolEnv} env
 * @returns {ToolSpec}
 */
export function sureflashTool(env) {
  const extra = env.sureflashExtra ?? [];
  return {
    name: 'sureflash',
    group: 'sureflash',
    writes: true,
    label: `sureflash copy --bmap ${extra.join(' ')}${extra.length ? ' ' : ''}IMAGE LOOP`,
    skip: env.sureflashCli ? null : 'sureflash: not built yet (dist/main/cli.cjs missing)',
    sample: async (ctx) => {
      const report = join(ctx.workDir, 'sureflash-report.json');
      rmSync(report, { force: true });
      const cli = /** @type {string} */ (env.sureflashCli);
      const m = await measure(ctx.workDir, [process.execPath, cli, 'copy', '--bmap', env.bmap, ...extra,
        '--report', report, '-q', env.image, ...(ctx.devices ?? [ctx.device])], { nice: ctx.nice });
      /** @typedef {{ status?: string, timings?: object, totals?: object, readback?: string, image?: { decoder?: string } }} CardReport */
      /** @type {(CardReport & { kind?: string, cards?: CardReport[] }) | undefined} */
      let parsed;
      if (existsSync(report)) {
        try {
          parsed = JSON.parse(readFileSync(report, 'utf8'));
        } catch {
          parsed = undefined;
        }
      }
      // The report file holds the batch; its first card has the timings and totals.
      const card = parsed?.kind === 'batch' ? parsed.cards?.[0] : parsed;
      return {
        ok: m.ok, wall: m.wall, rssKiB: m.rssKiB, note: failureNote(m),
        report: parsed ? { status: parsed.status, timings: card?.timings, totals: card?.totals, readback: card?.readback,
          decoder: parsed.image?.decoder, cards: parsed.cards?.map((c) => ({ status: c.status, totals: c.totals, timings: c.timings })) } : null,
      };
    },
  };
}

/**
 * bmaptool copy with the bmap passed explicitly (it verifies the source against the bmap checksums).
 * @param {ToolEnv} env
 * @returns {ToolSpec}
 */
export function bmaptoolTool(env) {
  return {
    name: 'bmaptool',
    group: 'bmaptool',
    writes: true,
    label: 'bmaptool copy --bmap IMAGE.bmap IMAGE LOOP',
    skip: null,
    sample: async (ctx) => {
      const m = await measure(ctx.workDir, ['bmaptool', '-q', 'copy', '--bmap', env.bmap, env.image, ctx.device], { nice: ctx.nice });
      return { ok: m.ok, wall: m.wall, rssKiB: m.rssKiB, note: failureNote(m) };
    },
  };
}

/**
 * etcher-sdk decompressThenFlash with verify, timed inside the script around the call.
 * @param {ToolEnv} env
 * @returns {ToolSpec}
 */
export function etcherTool(env) {
  return {
    name: 'etcher-sdk',
    group: 'etcher',
    writes: true,
    label: 'etcher-sdk decompressThenFlash verify:true (whole image; time of the call)',
    skip: env.etcher ? null : `etcher-sdk unavailable: ${env.etcherSkip ?? 'not installed'}`,
    sample: async (ctx) => {
      const dir = /** @type {{ dir: string }} */ (env.etcher).dir;
      const m = await measure(ctx.workDir, [process.execPath, ETCHER_FLASH_SCRIPT, dir, env.image, ctx.device, String(ctx.deviceSize)],
        { captureStdout: true, nice: ctx.nice });
      /** @type {{ seconds?: number, bytesWritten?: number, failures?: string[] }} */
      let out;
      try {
        out = JSON.parse(m.stdout.trim().split('\n').pop() ?? '{}');
      } catch {
        out = {};
      }
      const ok = m.ok && typeof out.seconds === 'number';
      return {
        ok, wall: ok ? /** @type {number} */ (out.seconds) : m.wall, rssKiB: m.rssKiB, processWall: m.wall,
        bytesWritten: out.bytesWritten, note: ok ? undefined : failureNote(m) ?? 'no timing printed',
      };
    },
  };
}

/**
 * A decompressor writing to /dev/null: the floor for any flasher of that format.
 * @param {string} name
 * @param {string[]} argv
 * @param {string} [label]   what ran, for the table (default: the command line, image path shortened)
 * @returns {ToolSpec}
 */
export function decoderTool(name, argv, label = `${argv.join(' ')} > /dev/null`.replace(/\S+\/image\.img/, 'IMAGE')) {
  return {
    name,
    group: 'decoders',
    writes: false,
    label,
    skip: null,
    sample: async (ctx) => {
      const m = await measure(ctx.workDir, argv, { nice: ctx.nice });
      return { ok: m.ok, wall: m.wall, rssKiB: m.rssKiB, note: failureNote(m) };
    },
  };
}

/**
 * The system decoder a user types in front of dd, per compressed format (single-threaded defaults).
 * @type {Record<string, string>}
 */
const DD_DECODERS = { gz: 'gzip -dc', zst: 'zstd -q -dc', xz: 'xz -dc', zip: 'unzip -p' };

/**
 * Plain dd as the distributions' instructions have it: the whole image (holes included, as zeros) written
 * to the device and nothing read back. Compressed images are piped from the system decoder; bash runs the
 * pipeline with pipefail so a failing decoder fails the sample, and the paths reach it as "$1" "$2", never
 * inside the script text.
 * @param {string} format   raw | gz | zst | xz | zip
 * @param {ToolEnv} env
 * @returns {ToolSpec}
 */
export function ddTool(format, env) {
  const decoder = DD_DECODERS[format];
  const label = decoder
    ? `${decoder} IMAGE | dd of=LOOP bs=4M iflag=fullblock conv=fsync (whole image written, nothing read back)`
    : 'dd if=IMAGE of=LOOP bs=4M conv=fsync (whole image written, nothing read back)';
  return {
    name: 'dd',
    group: 'dd',
    writes: true,
    label,
    skip: null,
    sample: async (ctx) => {
      const argv = decoder
        ? ['bash', '-c', `set -o pipefail; ${decoder} -- "$1" | dd of="$2" bs=4M iflag=fullblock conv=fsync status=none`,
          'dd-pipeline', env.image, ctx.device]
        : ['dd', `if=${env.image}`, `of=${ctx.device}`, 'bs=4M', 'conv=fsync', 'status=none'];
      const m = await measure(ctx.workDir, argv, { nice: ctx.nice });
      return { ok: m.ok, wall: m.wall, rssKiB: m.rssKiB, note: failureNote(m) };
    },
  };
}

/** Where the source-check floor script lives. */
const SOURCE_FLOOR_SCRIPT = fileURLToPath(new URL('./source-floor.mjs', import.meta.url));

/**
 * The raw image's floor: a fresh Node process that only reads the mapped ranges and hashes them against the
 * bmap (the source check every bmap flasher here does), nothing written. Measured like a decoder alone.
 * @param {ToolEnv} env
 * @returns {ToolSpec}
 */
export function sourceFloorTool(env) {
  return decoderTool('read+sha256', [process.execPath, SOURCE_FLOOR_SCRIPT, env.image, env.bmap],
    'read + SHA-256 of the mapped ranges only, nothing written (the source check alone)');
}

/**
 * Tools measured for one format, in the order they run within each round.
 * @param {string} format   raw | gz | zst | xz | zip
 * @param {ToolEnv} env
 * @param {string[]} groups the --tools selection
 * @returns {ToolSpec[]}
 */
export function toolsFor(format, env, groups) {
  /** @type {ToolSpec[]} */
  const tools = [bmaptoolTool(env), sureflashTool(env)];
  if (format === 'raw' || format === 'gz') tools.push(etcherTool(env));
  if (format === 'raw') tools.push(sourceFloorTool(env));
  tools.push(ddTool(format, env));
  if (format === 'xz') {
    tools.push(decoderTool('xz -dc -T0', ['xz', '-dc', '-T0', env.image]), decoderTool('xz -dc', ['xz', '-dc', env.image]));
  }
  if (format === 'zst') tools.push(decoderTool('zstd -dc', ['zstd', '-q', '-dc', env.image]));
  if (format === 'gz') tools.push(decoderTool('pigz -dc', ['pigz', '-dc', env.image]));
  if (format === 'zip') tools.push(decoderTool('unzip -p', ['unzip', '-p', env.image]));
  return tools.filter((t) => groups.includes(t.group));
}
