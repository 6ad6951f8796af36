/**
 * Wire format of the browser host's WebSocket: the Api carried as JSON messages. The host
 * (src/main/host) and the renderer's WebSocket client (src/renderer/api) both read this one definition.
 */
import type { ApiInvokeMethod, DriveInfo, FlashEvent } from './api';
import type { Result } from './result';

/** Path of the WebSocket endpoint on the host; the token goes in the `token` query parameter. */
export const HOST_WS_PATH = '/api';

/** Browser -> host. */
export type HostRequest =
  | { kind: 'invoke'; id: number; method: ApiInvokeMethod; args: unknown[] }
  /** Start or stop receiving drive list pushes (the host polls drives only while someone listens). */
  | { kind: 'watch-drives'; on: boolean };

/** Host -> browser. */
export type HostMessage =
  | { kind: 'result'; id: number; result: Result<unknown> }
  | { kind: 'drives'; drives: DriveInfo[] }
  | { kind: 'flash-event'; event: FlashEvent };
