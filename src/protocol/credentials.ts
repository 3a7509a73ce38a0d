/**
 * What an HTTP request and its connection prove about the caller, for both a
 * WebSocket upgrade and a plain HTTP route: an allowed Origin (or none), a
 * verified client certificate, a bearer token (the Authorization header, or
 * for a browser, which cannot set it, the `bearer.<token>` subprotocol).
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { isLoopback, type Credentials } from './admission.js';
import { originAllowed } from './origin.js';

export type Gathered = { ok: true; credentials: Credentials } | { ok: false; status: number; error: string };

export function requestCredentials(req: IncomingMessage, socket: Socket, allowedOrigins: readonly string[]): Gathered {
  const origin = req.headers.origin;
  if (origin !== undefined && !originAllowed(origin, req.headers.host, allowedOrigins)) {
    return { ok: false, status: 403, error: `origin ${origin} is not allowed here` };
  }
  const remoteAddress = socket.remoteAddress ?? '';
  const c: { -readonly [K in keyof Credentials]: Credentials[K] } = { remoteAddress, loopback: isLoopback(remoteAddress) };
  if ('encrypted' in socket) {
    const tls = socket as TLSSocket;
    const cert = tls.getPeerCertificate();
    if (cert && Object.keys(cert).length > 0) {
      if (!tls.authorized) return { ok: false, status: 403, error: `client certificate refused: ${String(tls.authorizationError)}` };
      const cn = cert.subject?.CN;
      c.certificate = { commonName: Array.isArray(cn) ? String(cn[0]) : String(cn ?? '') };
    }
  }
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer +([\x21-\x7e]{1,512})$/i.exec(auth);
    if (!m) return { ok: false, status: 401, error: 'the Authorization header must be "Bearer <token>"' };
    c.bearer = m[1]!;
  } else {
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const token = offered.find((p) => p.startsWith('bearer.'));
    if (token !== undefined) c.bearer = token.slice('bearer.'.length);
  }
  return { ok: true, credentials: c };
}
