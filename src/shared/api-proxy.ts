/**
 * Builds an Api object from the contract's lists (VS Code's ProxyChannel idea): every invoke method of
 * API_INVOKE_METHODS and every listener of API_EVENT_LISTENERS becomes a call on a transport that knows
 * only how to invoke a method and how to subscribe to an event. The Electron preload and the browser
 * host's WebSocket client are both made this way: a new Api method needs the contract (api.ts), its
 * argument schema and its handler in main, and no transport change.
 */
import { API_EVENT_LISTENERS, API_INVOKE_METHODS, type Api, type ApiEvent, type ApiEventPayloads, type ApiInvokeMethod, type Unsubscribe } from './api';
import type { Result } from './result';

/** What a transport provides; pathForFile stays transport-specific (Electron's webUtils, or nothing). */
export interface ApiTransport {
  /** Sends one call with its arguments as given; resolves with main's Result (never rejects). */
  invoke(method: ApiInvokeMethod, args: unknown[]): Promise<Result<unknown>>;
  subscribe<E extends ApiEvent>(event: E, listener: (payload: ApiEventPayloads[E]) => void): Unsubscribe;
  pathForFile: Api['pathForFile'];
}

type ListenerName = (typeof API_EVENT_LISTENERS)[ApiEvent];
type Assert<T extends true> = T;
/**
 * Compile-time proof that the lists and the interface agree: every Api member is an invoke method, an
 * event listener or pathForFile; invoke methods resolve to a Result; each listener takes its event's payload.
 */
export type ApiContractIsComplete = Assert<Exclude<keyof Api, ApiInvokeMethod | ListenerName | 'pathForFile'> extends never ? true : false>;
export type ApiInvokeMethodsReturnResults = Assert<
  { [M in ApiInvokeMethod]: ReturnType<Api[M]> extends Promise<Result<unknown>> ? true : false }[ApiInvokeMethod]
>;
export type ApiListenersTakeTheirPayload = Assert<
  {
    [E in ApiEvent]: Api[(typeof API_EVENT_LISTENERS)[E]] extends (listener: (payload: ApiEventPayloads[E]) => void) => Unsubscribe ? true : false;
  }[ApiEvent]
>;

export function createApiProxy(transport: ApiTransport): Api {
  const api: Record<string, unknown> = { pathForFile: (file: File) => transport.pathForFile(file) };
  // Optional arguments left out stay out: a trailing undefined would cross JSON as null.
  const given = (args: unknown[]): unknown[] => {
    let end = args.length;
    while (end > 0 && args[end - 1] === undefined) end--;
    return args.slice(0, end);
  };
  for (const method of API_INVOKE_METHODS) api[method] = (...args: unknown[]) => transport.invoke(method, given(args));
  const listen = <E extends ApiEvent>(event: E): void => {
    api[API_EVENT_LISTENERS[event]] = (listener: (payload: ApiEventPayloads[E]) => void) => transport.subscribe(event, listener);
  };
  for (const event of Object.keys(API_EVENT_LISTENERS) as ApiEvent[]) listen(event);
  return Object.freeze(api) as unknown as Api;
}
