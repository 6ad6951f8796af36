// Facts about the machine and the tools, printed in the header and stored with the results.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { firstLine } from './proc.mjs';

/** @param {string} file */
function read(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * @param {{ etcherSdk: string | null, sureflash: string | null }} extra
 */
export function machineFacts(extra) {
  const cpuModel = /model name\s*:\s*(.+)/.exec(read('/proc/cpuinfo'))?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const flags = /flags\s*:\s*(.+)/.exec(read('/proc/cpuinfo'))?.[1]?.split(' ') ?? [];
  const memAvailable = Number(/MemAvailable:\s*(\d+)/.exec(read('/proc/meminfo'))?.[1] ?? 0) * 1024;
  return {
    cpu: cpuModel,
    cores: os.cpus().length,
    cpuFeatures: ['aes', 'sha_ni', 'avx2'].filter((f) => flags.includes(f)),
    ramBytes: os.totalmem(),
    memAvailableBytes: memAvailable,
    kernel: `${os.type()} ${os.release()}`,
    /** 1/5/15-minute load averages when the run started: other work on the machine skews timings. */
    loadAverage: os.loadavg().map((v) => Number(v.toFixed(2))),
    node: process.version,
    tools: {
      bmaptool: firstLine('bmaptool', ['--version']),
      xz: firstLine('xz', ['--version']),
      zstd: firstLine('zstd', ['--version']),
      pigz: firstLine('pigz', ['--version']),
      gzip: firstLine('gzip', ['--version']),
      dd: firstLine('dd', ['--version']),
      mkfsExt4: firstLine('mke2fs', ['-V']),
      'etcher-sdk': extra.etcherSdk,
      sureflash: extra.sureflash,
    },
  };
}

/** @param {ReturnType<typeof machineFacts>} m */
export function formatMachine(m) {
  const gib = (/** @type {number} */ b) => `${(b / 1024 ** 3).toFixed(1)} GiB`;
  const lines = [
    `CPU        ${m.cpu} (${m.cores} cores${m.cpuFeatures.length ? `, ${m.cpuFeatures.join(' ')}` : ''})`,
    `RAM        ${gib(m.ramBytes)} (${gib(m.memAvailableBytes)} available)`,
    `kernel     ${m.kernel}, node ${m.node}`,
    `load       ${m.loadAverage.join(' ')}${(m.loadAverage[0] ?? 0) > 0.5 * m.cores ? '  (busy machine: timings will be noisy)' : ''}`,
  ];
  for (const [name, version] of Object.entries(m.tools)) lines.push(`${name.padEnd(11)}${version ?? 'not found'}`);
  return lines.join('\n');
}
