/**
 * A daemon's TLS material, read from the files the operator named (flags or
 * ZEEK_MGMT_TLS_* variables) and read again on SIGHUP: certificate and key
 * (with an optional passphrase) for its listeners and as its client
 * certificate, and the CA its peers' certificates must chain to. Without a
 * CA, servers it dials are checked against the system's CAs (with
 * NODE_EXTRA_CA_CERTS) and no client certificates are asked for.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Outcome } from '../protocol/errors.js';
import type { ClientTls, ServerTls } from '../protocol/tls-options.js';

export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string;
  /** The key's passphrase: the text itself (ZEEK_MGMT_TLS_PASSPHRASE) … */
  passphrase?: string;
  /** … or a file holding it (--tls-passphrase-file), first line. */
  passphraseFile?: string;
}

interface Loaded { server: ServerTls; client: ClientTls; notes: string[] }

export class TlsMaterial {
  private constructor(readonly files: TlsFiles, private loaded: Loaded) {}

  /** Reads and checks every file (the key must match the certificate and open with the passphrase). */
  static async load(files: TlsFiles, env: NodeJS.ProcessEnv = process.env): Promise<Outcome<TlsMaterial>> {
    const loaded = await read(files, env);
    return loaded.ok ? { ok: true, value: new TlsMaterial(files, loaded.value) } : loaded;
  }

  /** Things worth a warning (a certificate that expired or expires soon). */
  get notes(): readonly string[] {
    return this.loaded.notes;
  }

  readonly server = (): ServerTls => this.loaded.server;
  readonly client = (): ClientTls => this.loaded.client;

  /** Re-reads the files; on a problem the old material stays in use and the error is returned. */
  async reload(env: NodeJS.ProcessEnv = process.env): Promise<Outcome<TlsMaterial>> {
    const loaded = await read(this.files, env);
    if (!loaded.ok) return loaded;
    this.loaded = loaded.value;
    return { ok: true, value: this };
  }
}

const EXPIRY_WARNING_MS = 14 * 24 * 3600 * 1000;

async function read(files: TlsFiles, env: NodeJS.ProcessEnv): Promise<Outcome<Loaded>> {
  const file = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new TlsFileError(`cannot read the TLS ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  try {
    const cert = file(files.cert, 'certificate');
    const key = file(files.key, 'key');
    const ca = files.ca === undefined ? undefined : file(files.ca, 'CA file');
    const passphrase = files.passphraseFile !== undefined ? file(files.passphraseFile, 'passphrase file').toString('utf8').split(/\r?\n/)[0]! : files.passphrase;
    const tls = await import('node:tls');
    try {
      tls.createSecureContext({ cert, key, ...(passphrase === undefined ? {} : { passphrase }), ...(ca ? { ca } : {}) });
    } catch (err) {
      throw new TlsFileError(`TLS certificate ${files.cert} and key ${files.key} do not work together: ${(err as Error).message}`);
    }
    const notes: string[] = [];
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(cert);
    } catch (err) {
      throw new TlsFileError(`TLS certificate ${files.cert} is not a PEM certificate: ${(err as Error).message}`);
    }
    const left = Date.parse(x509.validTo) - Date.now();
    if (left <= 0) notes.push(`the TLS certificate ${files.cert} expired on ${x509.validTo}: peers will refuse it`);
    else if (left < EXPIRY_WARNING_MS) notes.push(`the TLS certificate ${files.cert} expires on ${x509.validTo}`);
    const { pemCertificates, systemCertificates } = await import('../protocol/trust.js');
    const trusted = ca ? pemCertificates(ca.toString('utf8')) : await systemCertificates(env, (n) => notes.push(n));
    if (ca && trusted.length === 0) throw new TlsFileError(`the TLS CA file ${files.ca} holds no PEM certificate`);
    const withPass = passphrase === undefined ? {} : { passphrase };
    return {
      ok: true,
      value: {
        server: { cert, key, ...withPass, ...(ca ? { ca } : {}) },
        client: { ca: trusted, cert, key, ...withPass },
        notes,
      },
    };
  } catch (err) {
    if (err instanceof TlsFileError) return { ok: false, error: err.message };
    throw err;
  }
}

class TlsFileError extends Error {}
