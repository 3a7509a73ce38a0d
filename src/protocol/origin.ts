/**
 * Which browser origins may open a session. Browsers send `Origin` with a
 * WebSocket handshake and let any page open one to 127.0.0.1, so without a
 * check any web site could drive a listener (cross-site WebSocket
 * hijacking). zeek-client sends the origin of the address it dialled
 * (`http://127.0.0.1:2149`): same-origin on an IP address, `localhost` or
 * this host's name is allowed; any other name only by the allow-list, so a
 * page that re-binds its own DNS name to 127.0.0.1 is refused too.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';

export function originAllowed(origin: string, hostHeader: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.includes(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (hostHeader === undefined || url.host.toLowerCase() !== hostHeader.toLowerCase()) return false;
  const name = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return isIP(name) !== 0 || name === 'localhost' || name === hostname().toLowerCase();
}
