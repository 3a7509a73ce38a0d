/**
 * The CAs a dialling side trusts: Node's own roots, the operator's
 * NODE_EXTRA_CA_CERTS (read here, because the executable starts Node without
 * it and because a `ca` option replaces Node's store anyway), and the files
 * given. Loaded only where TLS is used.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificates in a text (a bundle may hold many). */
export function pemCertificates(text: string): string[] {
  return text.match(PEM_CERT) ?? [];
}

/** Every certificate in the regular files of an OpenSSL-style CA directory (hash links included). */
export function caDirectoryCertificates(dir: string): string[] {
  const certs = new Set<string>();
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    let text: string;
    try {
      if (!statSync(path).isFile()) continue;
      text = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    for (const c of pemCertificates(text)) certs.add(c);
  }
  return [...certs];
}

/** Node's root CAs plus those in NODE_EXTRA_CA_CERTS (a missing or unreadable file is skipped, as Node does, with a note). */
export async function systemCertificates(env: NodeJS.ProcessEnv = process.env, note: (text: string) => void = () => undefined): Promise<string[]> {
  const { rootCertificates } = await import('node:tls');
  const extraFile = env.NODE_EXTRA_CA_CERTS;
  if (!extraFile) return [...rootCertificates];
  try {
    return [...rootCertificates, ...pemCertificates(readFileSync(extraFile, 'utf8'))];
  } catch (err) {
    note(`ignoring NODE_EXTRA_CA_CERTS: ${(err as Error).message}`);
    return [...rootCertificates];
  }
}
