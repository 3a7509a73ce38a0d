/**
 * Values written into generated Zeek code. Everything the agent embeds in
 * a script goes through these, so that no name, path or address from a
 * configuration can end a literal and become code: strings keep printable
 * ASCII and escape the rest byte by byte (`\xNN`), addresses and ports are
 * checked before they are written bare.
 */
import { isIP } from 'node:net';
import type { Port } from '../../protocol/values.js';

/** A Zeek string literal holding exactly `s` (as UTF-8 bytes). */
export function zeekString(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

/** A Zeek `addr` constant (IPv6 in brackets); anything but an IP address is a bug upstream. */
export function zeekAddr(ip: string): string {
  const family = isIP(ip);
  if (family === 0) throw new Error(`not an IP address: ${JSON.stringify(ip)}`);
  return family === 6 ? `[${ip}]` : ip;
}

/** A Zeek `port` constant. */
export function zeekPort(p: Port): string {
  if (!Number.isInteger(p.number) || p.number < 0 || p.number > 65535) throw new Error(`not a port number: ${p.number}`);
  return `${p.number}/${p.protocol}`;
}

/** A URI host for ZeroMQ endpoints (`tcp://host:port`): IPv6 in brackets. */
export function uriHost(ip: string): string {
  return isIP(ip) === 6 ? `[${ip}]` : ip;
}
