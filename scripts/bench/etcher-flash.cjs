// Flashes one image to one block device with etcher-sdk's decompressThenFlash, verify on, the way
// Etcher itself calls it for a single drive (no decompress-first, no trim). Prints one JSON line with the
// seconds spent inside the call. Run by scripts/bench.mjs under /usr/bin/time:
//   node etcher-flash.cjs ETCHER_DIR IMAGE DEVICE DEVICE_SIZE
'use strict';
const { createRequire } = require('node:module');
const { join } = require('node:path');

async function main() {
  const [etcherDir, image, device, deviceSize] = process.argv.slice(2);
  if (!etcherDir || !image || !device || !deviceSize) {
    throw new Error('usage: etcher-flash.cjs ETCHER_DIR IMAGE DEVICE DEVICE_SIZE');
  }
  const sdk = createRequire(join(etcherDir, 'package.json'))('etcher-sdk');
  const source = new sdk.sourceDestination.File({ path: image });
  // A drivelist-shaped description of the loop device, so BlockDevice opens it O_DIRECT | O_EXCL.
  const drive = {
    device,
    devicePath: null,
    raw: device,
    description: 'sureflash bench loop device',
    size: Number(deviceSize),
    blockSize: 512,
    logicalBlockSize: 512,
    mountpoints: [],
    isReadOnly: false,
    isSystem: false,
    isRemovable: true,
    isVirtual: true,
  };
  const destination = new sdk.sourceDestination.BlockDevice({ drive, write: true, direct: true, unmountOnSuccess: false });
  const failures = [];
  const started = process.hrtime.bigint();
  const result = await sdk.multiWrite.decompressThenFlash({
    source,
    destinations: [destination],
    verify: true,
    decompressFirst: false,
    trim: false,
    onFail: (_dest, error) => failures.push(String(error && error.message ? error.message : error)),
    onProgress: () => undefined,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const [, error] of result.failures) failures.push(String(error && error.message ? error.message : error));
  process.stdout.write(`${JSON.stringify({ seconds, bytesWritten: result.bytesWritten, failures })}\n`);
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((error) => {
  process.stderr.write(`etcher-flash: ${error && error.stack ? error.stack : error}\n`);
  process.exitCode = 2;
});
