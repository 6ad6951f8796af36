import { build } from 'esbuild';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/**
 * Bundles the probe worker from the current source the way scripts/build.mjs does (packages stay external,
 * so the bundle sits under node_modules to resolve them) and points probeImage at it.
 */
export async function useFreshProbeWorker(): Promise<string> {
  const outfile = join(root, 'node_modules', '.cache', 'sureflash-test', 'probe-worker.cjs');
  await build({
    absWorkingDir: root,
    entryPoints: ['src/main/engine/probe-worker.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    supported: { 'dynamic-import': false },
    logLevel: 'warning',
  });
  process.env.SUREFLASH_PROBE_WORKER = outfile;
  return outfile;
}
