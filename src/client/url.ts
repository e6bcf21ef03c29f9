// Turning the base URL a user gives (http(s)://host:port, ws(s)://host:port or a full .../ws URL) into
// the WebSocket and REST URLs of protocol.md sections 1 and 7.
import { InvalidOptionError } from '../errors.ts';
import { RestPath } from '../protocol/index.ts';

/** ws(s)://host:port/prefix/ws, without query: the URL that `?token=` is appended to. */
export function resolveWsUrl(input: string, option = 'url'): string {
  const url = parseUrl(input, option);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  let path = url.pathname.replace(/\/+$/, '');
  if (!path.endsWith(RestPath.ws)) path += RestPath.ws;
  url.pathname = path;
  url.search = '';
  url.hash = '';
  return url.toString();
}

/** The REST origin (for the connection pool) and path prefix of a base URL. */
export function resolveHttpBase(input: string, option = 'url'): { origin: string; prefix: string } {
  const url = parseUrl(input, option);
  if (url.protocol === 'ws:') url.protocol = 'http:';
  else if (url.protocol === 'wss:') url.protocol = 'https:';
  let prefix = url.pathname.replace(/\/+$/, '');
  if (prefix.endsWith(RestPath.ws)) prefix = prefix.slice(0, -RestPath.ws.length);
  return { origin: url.origin, prefix };
}

function parseUrl(input: string, option: string): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new InvalidOptionError(option, `not a URL: ${JSON.stringify(input)}`);
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) {
    throw new InvalidOptionError(option, `expected an http(s):// or ws(s):// URL, got ${url.protocol}//`);
  }
  return url;
}
