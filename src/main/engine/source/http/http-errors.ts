/**
 * Download failures as EngineErrors naming the URL (credentials and query stripped) and what went wrong:
 * an HTTP status, a DNS or TLS failure, a stall. `transient` marks those worth another attempt (a dropped
 * connection, a 5xx, a stall); the rest end the job at once.
 */
import type { ErrorCode } from '../../../../shared/errors';
import { EngineError } from '../../errors';
import { displayUrl } from './url-parts';

export class DownloadError extends EngineError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly transient: boolean,
    readonly status: number | null = null,
  ) {
    super(code, message);
    this.name = 'DownloadError';
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  416: 'Range Not Satisfiable',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** "404 Not Found" */
export function statusText(status: number): string {
  const reason = REASONS[status];
  return reason ? `${status} ${reason}` : `HTTP ${status}`;
}

/** The URL as named in a message: the address asked for, and where redirects led when they did. */
export function whereText(url: string, finalUrl?: string): string {
  const asked = displayUrl(url);
  const final = finalUrl ? displayUrl(finalUrl) : asked;
  return final === asked ? asked : `${asked} (redirected to ${final})`;
}

/** An error response as a DownloadError: 404/410 not found, 401/403/407 denied, 5xx/429/408 transient. */
export function statusError(status: number, url: string, finalUrl: string | undefined, credentials: string | null): DownloadError {
  const where = whereText(url, finalUrl);
  if (status === 404 || status === 410) return new DownloadError('DOWNLOAD_NOT_FOUND', `${where}: ${statusText(status)}`, false, status);
  if (status === 401 || status === 403 || status === 407) {
    const sent = credentials ? `the credentials from ${credentials} were refused` : 'no credentials were sent (none in the address or in netrc)';
    const who = status === 407 ? 'the proxy refused the request' : sent;
    return new DownloadError('DOWNLOAD_DENIED', `${where}: ${statusText(status)}: ${who}`, false, status);
  }
  const transient = status >= 500 || status === 429 || status === 408;
  return new DownloadError('DOWNLOAD_FAILED', `${where}: the server answered ${statusText(status)}`, transient, status);
}

function errorCode(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '';
  const own = 'code' in err ? String((err as { code: unknown }).code) : '';
  const cause = 'cause' in err ? errorCode((err as { cause: unknown }).cause) : '';
  // undici wraps the socket's error: the cause says more (ECONNREFUSED, a certificate problem).
  return cause !== '' && (own === '' || own.startsWith('UND_ERR_SOCKET') || own === 'UND_ERR_CONNECT') ? cause : own;
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : '';
  return cause && !err.message.includes(cause) ? `${err.message} (${cause})` : err.message;
}

const TLS_CODES = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_OSSL|HOSTNAME|ALTNAME/i;

/** A failed request (no response, or its body broke off) as a DownloadError naming the URL. */
export function networkError(err: unknown, url: string, finalUrl?: string): DownloadError {
  if (err instanceof DownloadError) return err;
  const where = whereText(url, finalUrl);
  const code = errorCode(err);
  const host = (() => {
    try {
      return new URL(finalUrl ?? url).hostname;
    } catch {
      return url;
    }
  })();
  if (code === 'ENOTFOUND' || code === 'EAI_FAIL' || code === 'EAI_NONAME') {
    return new DownloadError('DOWNLOAD_FAILED', `${where}: the host name ${host} could not be resolved (DNS: ${code})`, false);
  }
  if (code === 'EAI_AGAIN') {
    return new DownloadError('DOWNLOAD_FAILED', `${where}: the host name ${host} could not be resolved now (DNS: ${code})`, true);
  }
  if (TLS_CODES.test(code)) {
    return new DownloadError('DOWNLOAD_TLS', `${where}: the secure connection failed (${code}: ${errorText(err)})`, false);
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    const what = code === 'UND_ERR_CONNECT_TIMEOUT' ? 'connecting timed out' : 'the server stopped sending (timed out)';
    return new DownloadError('DOWNLOAD_TIMEOUT', `${where}: ${what}`, true);
  }
  if (code === 'ECONNREFUSED') return new DownloadError('DOWNLOAD_FAILED', `${where}: the connection was refused`, true);
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return new DownloadError('DOWNLOAD_FAILED', `${where}: the host cannot be reached (${code})`, true);
  return new DownloadError('DOWNLOAD_FAILED', `${where}: the connection broke off (${code || errorText(err)})`, true);
}
