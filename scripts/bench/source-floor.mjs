// The raw image's floor: read the bmap's mapped ranges from the image and hash them against its checksums,
// nothing written. This is the source check that bmaptool and Sureflash both do, alone, in a fresh process,
// so the bench can show how much of a whole flash it already takes on this machine.
// usage: node source-floor.mjs IMAGE BMAP   (exit 0 when every range matches)
import { readBmapRanges, checkTarget } from './target-check.mjs';

const [image, bmap] = process.argv.slice(2);
if (!image || !bmap) {
  process.stderr.write('usage: node source-floor.mjs IMAGE BMAP\n');
  process.exit(2);
}
const { ok, badRanges } = checkTarget(image, readBmapRanges(bmap));
if (!ok) process.stderr.write(`source-floor: ranges ${badRanges.join(', ')} do not match the bmap\n`);
process.exit(ok ? 0 : 1);
