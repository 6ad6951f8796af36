/**
 * The device thread (dist/main/device-thread.cjs): one per target. It opens the device, then runs each batch
 * on memory it shares with the engine: synchronous calls, with runs of aligned writes many in flight when the
 * native module is built (device-executor.ts). A device that stops answering blocks only this thread: the
 * engine's timeout reports DEVICE_STALLED while every other card and the libuv pool go on.
 */
import { parentPort } from 'node:worker_threads';
import { DeviceExecutor, DeviceFault } from './device-executor';
import type { FromDevice, ToDevice } from './device-protocol';
import { writesInFlight } from './writes-in-flight';

const port = parentPort;
if (!port) throw new Error('device-thread must run in a worker thread');

let executor: DeviceExecutor | null = null;
const post = (message: FromDevice): void => port.postMessage(message);

port.on('message', (message: ToDevice) => {
  switch (message.type) {
    case 'open':
      try {
        executor = DeviceExecutor.open(message.request, Buffer.from(message.memory.buffer), { inFlight: writesInFlight() });
        post({ type: 'opened', info: executor.info });
      } catch (err) {
        const code = err instanceof DeviceFault ? err.code : 'EUNKNOWN';
        post({ type: 'open-failed', code, message: err instanceof Error ? err.message : String(err) });
      }
      break;
    case 'batch':
      if (!executor) {
        post({ type: 'result', id: message.id, result: { reads: [], error: { index: 0, code: 'EBADF', message: 'the device is not open' } } });
        break;
      }
      post({ type: 'result', id: message.id, result: executor.run(message.ops) });
      break;
    case 'close':
      try {
        executor?.close();
      } finally {
        executor = null;
        post({ type: 'closed' });
        port.close();
      }
      break;
  }
});
