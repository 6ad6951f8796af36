/**
 * Many O_DIRECT writes in flight for the device executor: the native module's writeMany (Linux native AIO,
 * src/main/native/sureflash-io.c), with Node's own names and messages for the errno values it reports, so a
 * failed write reads the same whichever way it ran. Null when the module is not built or does not load here.
 */
import { getSystemErrorMap } from 'node:util';
import { nativeIo, type NativeIo } from '../../system/native-io';
import type { WritesInFlight } from './device-executor';

export function writesInFlight(io: NativeIo | null = nativeIo()): WritesInFlight | null {
  if (!io) return null;
  return {
    writeMany: (fd, memory, table, depth, results) => io.writeMany(fd, memory, table, depth, results),
    describe: (errno, syscall) => {
      const [code, description] = getSystemErrorMap().get(-errno) ?? ['EUNKNOWN', `unknown error ${errno}`];
      return { code, message: `${code}: ${description}, ${syscall}` };
    },
  };
}
