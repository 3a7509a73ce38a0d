/**
 * TLS material as listeners and links use it. The daemons read the files
 * (and re-read them on SIGHUP); these shapes carry what was read. Only
 * types come from node:tls here, so a plaintext process never loads it.
 */
import type { SecureContextOptions, TlsOptions } from 'node:tls';

export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  passphrase?: string;
  /** CAs that client certificates must chain to; when set, clients are asked for one (mutual TLS). */
  ca?: Buffer;
}

export interface ClientTls {
  /** Trusted CAs for the server's certificate (host name checked). */
  ca: (string | Buffer)[];
  /** Our certificate, presented when the server asks (mutual TLS). */
  cert?: Buffer;
  key?: Buffer;
  passphrase?: string;
}

export function serverTlsOptions(t: ServerTls): TlsOptions {
  const o: TlsOptions = { cert: t.cert, key: t.key, minVersion: 'TLSv1.2' };
  if (t.passphrase !== undefined) o.passphrase = t.passphrase;
  if (t.ca) {
    o.ca = t.ca;
    // Asked for, checked at the upgrade: a certificate that does not verify is refused there with the reason;
    // a client without one may still come in with a token (or anonymously on loopback, if allowed).
    o.requestCert = true;
    o.rejectUnauthorized = false;
  }
  return o;
}

export function clientTlsOptions(t: ClientTls): SecureContextOptions & { rejectUnauthorized: true } {
  const o: SecureContextOptions & { rejectUnauthorized: true } = { ca: t.ca, rejectUnauthorized: true, minVersion: 'TLSv1.2' };
  if (t.cert) o.cert = t.cert;
  if (t.key) o.key = t.key;
  if (t.passphrase !== undefined) o.passphrase = t.passphrase;
  return o;
}
