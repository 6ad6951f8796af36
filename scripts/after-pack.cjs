// electron-builder afterPack hook (electron-builder.yml `afterPack`): flips Electron's fuses in the packed app
// before it is signed and wrapped into deb/AppImage/dmg/nsis. electron-builder 25 (the newest whose whole
// dependency tree installs on Node 20) has no `electronFuses` option, so the hook does it with @electron/fuses.
'use strict';

const { join } = require('node:path');
const { flipFuses, FuseV1Options, FuseVersion } = require('@electron/fuses');
const { Arch } = require('electron-builder');

/**
 * The fuses Sureflash ships with.
 * - RunAsNode stays on: the privileged helper runs as `<app> helper.cjs <file>` with ELECTRON_RUN_AS_NODE=1.
 * - No --inspect/--remote-debugging arguments: nobody attaches a debugger to the shipped app.
 * - The app is loaded only from app.asar, never from a loose folder dropped next to it.
 * @type {Partial<Record<import('@electron/fuses').FuseV1Options, boolean>>}
 */
const FUSES = {
  [FuseV1Options.RunAsNode]: true,
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
};

/**
 * Where the packed app's Electron executable is: `<name>.app` on macOS (@electron/fuses finds the framework
 * inside), `<name>.exe` on Windows, the Linux executable name otherwise.
 * @param {Pick<import('app-builder-lib').AfterPackContext, 'appOutDir' | 'electronPlatformName'> & {
 *   packager: { appInfo: { productFilename: string }, executableName?: string } }} context
 * @returns {string}
 */
function electronBinaryPath(context) {
  const { appOutDir, electronPlatformName, packager } = context;
  const name = packager.appInfo.productFilename;
  if (electronPlatformName === 'darwin' || electronPlatformName === 'mas') return join(appOutDir, `${name}.app`);
  if (electronPlatformName === 'win32') return join(appOutDir, `${name}.exe`);
  return join(appOutDir, packager.executableName ?? name);
}

/**
 * @param {Pick<import('app-builder-lib').AfterPackContext, 'appOutDir' | 'electronPlatformName' | 'arch'> & {
 *   packager: { appInfo: { productFilename: string }, executableName?: string } }} context
 * @returns {Promise<void>}
 */
async function afterPack(context) {
  await flipFuses(electronBinaryPath(context), {
    version: FuseVersion.V1,
    // Apple silicon refuses a binary whose ad-hoc signature no longer matches its bytes.
    resetAdHocDarwinSignature: context.electronPlatformName === 'darwin' && context.arch === Arch.arm64,
    ...FUSES,
  });
}

module.exports = { default: afterPack, afterPack, electronBinaryPath, FUSES };
