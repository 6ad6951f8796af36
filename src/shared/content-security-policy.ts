/**
 * The renderer's Content-Security-Policy, in one place: the Electron shell sends it as a header, the
 * browser host sends it as a header, and the renderer build writes it into index.html's meta tag (the only
 * carrier for a file:// page). 'self' also covers the browser host's WebSocket (same host and port).
 */
const DIRECTIVES: readonly string[] = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
];

/** Directives a <meta> tag cannot carry (browsers ignore them there, with a console error). */
const HEADER_ONLY = ['frame-ancestors'];

/** The policy as a response header. */
export const CONTENT_SECURITY_POLICY = DIRECTIVES.join('; ');

/** The same policy for index.html's meta tag, without the header-only directives. */
export const META_CONTENT_SECURITY_POLICY = DIRECTIVES.filter((d) => !HEADER_ONLY.includes(d.split(' ')[0] ?? '')).join('; ');
