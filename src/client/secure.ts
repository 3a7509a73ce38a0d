/**
 * What the client adds to its connection when the settings ask for it:
 * TLS from zeek-client's `ssl.*` settings, and a bearer token. Loaded only
 * then, so a plaintext command never loads TLS.
 *
 * zeek-client with `ssl.enable` alone accepts any server (Broker's
 * unauthenticated mode); with `ssl.certificate` it verifies the server
 * against the system's CAs, or `ssl.cafile`/`ssl.capath`, with the host
 * name. We always verify: the system's CAs (with NODE_EXTRA_CA_CERTS) plus
 * `ssl.cafile` and `ssl.capath`, host name checked. So whatever zeek-client
 * refuses, we refuse too, and a forged server is refused with `ssl.enable`
 * alone as well: trust a private CA with `ssl.cafile`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { ClientOptions } from '../protocol/ws.js';
import type { Outcome } from '../protocol/errors.js';
import type { Settings } from './settings.js';

export async function secureOptions(raw: Settings, env: NodeJS.ProcessEnv): Promise<Outcome<ClientOptions>> {
  try {
    const options: ClientOptions = {};
    const token = readToken(raw, env);
    if (token !== undefined) options.headers = { authorization: `Bearer ${token}` };
    if ((raw.getBoolean('ssl', 'enable') as boolean) === true) Object.assign(options, await tlsOptions(raw, env));
    return { ok: true, value: options };
  } catch (err) {
    if (err instanceof SecureSettingError) return { ok: false, error: err.message };
    throw err;
  }
}

class SecureSettingError extends Error {}

async function tlsOptions(raw: Settings, env: NodeJS.ProcessEnv): Promise<ClientOptions> {
  const path = (key: string): string | undefined => raw.get('ssl', key) || undefined;
  const certificate = path('certificate');
  const keyfile = path('keyfile');
  const cafile = path('cafile');
  const capath = path('capath');
  const passphrase = path('passphrase');
  // zeek-client's checks, in its words.
  if (certificate && !isFile(certificate)) throw new SecureSettingError(`SSL certificate file "${certificate}" not found`);
  if (keyfile && !isFile(keyfile)) throw new SecureSettingError(`SSL private key file "${keyfile}" not found`);
  if (cafile && !isFile(cafile)) throw new SecureSettingError(`SSL trusted CAs file "${cafile}" not found`);
  if (capath && !isDirectory(capath)) throw new SecureSettingError(`SSL trusted CAs path "${capath}" not found`);
  const { caDirectoryCertificates, pemCertificates, systemCertificates } = await import('../protocol/trust.js');
  const ca = await systemCertificates(env);
  if (cafile) {
    const certs = pemCertificates(readFileSync(cafile, 'utf8'));
    if (certs.length === 0) throw new SecureSettingError(`SSL trusted CAs file "${cafile}" holds no PEM certificate`);
    ca.push(...certs);
  }
  if (capath) ca.push(...caDirectoryCertificates(capath));
  const options: ClientOptions = { ca, rejectUnauthorized: true };
  if (certificate) {
    // As zeek-client's load_cert_chain: the key may be in the certificate file.
    const cert = readFileSync(certificate);
    options.cert = cert;
    options.key = keyfile ? readFileSync(keyfile) : cert;
    if (passphrase) options.passphrase = passphrase;
  }
  return options;
}

function readToken(raw: Settings, env: NodeJS.ProcessEnv): string | undefined {
  const file = raw.get('auth', 'token_file');
  let token = raw.get('auth', 'token') || undefined;
  if (!token && file) {
    try {
      token = readFileSync(file, 'utf8').split(/\r?\n/)[0]!.trim();
    } catch (err) {
      throw new SecureSettingError(`cannot read auth.token_file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  token ??= env.ZEEK_MGMT_TOKEN || undefined;
  if (token !== undefined && !/^[\x21-\x7e]{1,512}$/.test(token)) throw new SecureSettingError('the token (auth.token, auth.token_file or ZEEK_MGMT_TOKEN) must be printable ASCII without spaces');
  return token;
}

const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();
const isDirectory = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();
