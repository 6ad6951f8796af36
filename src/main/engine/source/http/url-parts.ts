/**
 * URL handling for images given as http(s) addresses: recognising them, the form shown to people (never with
 * credentials, never with a query string that may carry a signed token), and the names found next to an
 * image (its bmap, signatures, checksum files), which change the path and keep the query string.
 */

/** True when `input` names an http or https URL (an image or bmap to download rather than a file). */
export function isHttpUrl(input: string): boolean {
  return /^https?:\/\//i.test(input);
}

/**
 * The URL as shown in messages, logs and reports: without user name and password, and with a query
 * string reduced to "?…" (presigned URLs carry their secret there). Unparseable input is returned with
 * anything that looks like credentials cut out.
 */
export function displayUrl(input: string | URL): string {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    return String(input).replace(/\/\/[^/@]*@/, '//');
  }
  const query = url.search ? '?…' : '';
  return `${url.protocol}//${url.host}${url.pathname}${query}`;
}

/** The URL with `suffix` appended to its path, query string and fragment kept (os.img?x -> os.img.bmap?x). */
export function withPathSuffix(input: string, suffix: string): string {
  const url = new URL(input);
  url.pathname = `${url.pathname}${suffix}`;
  return url.toString();
}

/** The last path segment, decoded ("os.img.xz"); empty for a URL ending in "/". */
export function urlFileName(input: string): string {
  const path = new URL(input).pathname;
  const name = path.slice(path.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/** A file next to the URL's last segment (same directory), the query string kept: .../os.img -> .../SHA256SUMS. */
export function siblingUrl(input: string, name: string): string {
  const url = new URL(input);
  url.pathname = `${url.pathname.slice(0, url.pathname.lastIndexOf('/') + 1)}${encodeURIComponent(name)}`;
  return url.toString();
}

/**
 * Candidate bmap URLs for an image URL, in bmaptool's order: IMAGE.bmap, then one extension stripped at a
 * time from the last path segment (os.img.xz -> os.img.xz.bmap, os.img.bmap, os.bmap); query kept.
 */
export function urlBmapCandidates(imageUrl: string): string[] {
  const url = new URL(imageUrl);
  const dir = url.pathname.slice(0, url.pathname.lastIndexOf('/') + 1);
  let name = url.pathname.slice(dir.length);
  const out: string[] = [];
  for (;;) {
    const candidate = new URL(url.toString());
    candidate.pathname = `${dir}${name}.bmap`;
    out.push(candidate.toString());
    const dot = name.lastIndexOf('.');
    if (dot <= 0) return out;
    name = name.slice(0, dot);
  }
}

/** User name and password carried in the URL (decoded), or null. */
export function urlCredentials(input: string | URL): { user: string; password: string } | null {
  const url = new URL(String(input));
  if (url.username === '' && url.password === '') return null;
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return { user: decode(url.username), password: decode(url.password) };
}

/** The URL without user name and password (what is actually requested; credentials go in a header). */
export function withoutCredentials(input: string | URL): URL {
  const url = new URL(String(input));
  url.username = '';
  url.password = '';
  url.hash = '';
  return url;
}
