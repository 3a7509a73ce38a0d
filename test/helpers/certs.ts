/**
 * Real certificates for TLS tests, made with openssl in a temp directory:
 * a CA, leaf certificates it issues (server and client use, IP and DNS
 * names), expired ones, and keys with a passphrase.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './process.js';

export interface KeyPair { cert: string; key: string }

export interface IssueOptions {
  /** Subject alternative names (default IP:127.0.0.1, DNS:localhost). */
  san?: string[];
  /** Validity in days; negative makes an expired certificate. */
  days?: number;
  /** Encrypt the key with this passphrase. */
  passphrase?: string;
}

const openssl = (args: string[]): void => {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

export class TestCa {
  private serial = 1;
  readonly cert: string;
  readonly key: string;

  constructor(readonly dir: string = tempDir('zeek-mgmt-pki-'), readonly name = 'test-ca') {
    this.cert = join(dir, `${name}.pem`);
    this.key = join(dir, `${name}.key`);
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', this.key, '-out', this.cert,
      '-subj', `/CN=${name}`, '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  }

  /** A certificate for `cn`, usable for server and client authentication. */
  issue(cn: string, options: IssueOptions = {}): KeyPair {
    const base = join(this.dir, `${this.name}-${cn}-${this.serial}`);
    const ext = `${base}.ext`;
    writeFileSync(ext, [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      `subjectAltName=${(options.san ?? ['IP:127.0.0.1', 'DNS:localhost']).join(',')}`,
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid,issuer',
      '',
    ].join('\n'));
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.plain.key`, '-out', `${base}.csr`, '-subj', `/CN=${cn}`]);
    openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', this.cert, '-CAkey', this.key, '-set_serial', String(this.serial += 1),
      '-days', String(options.days ?? 30), '-extfile', ext, '-out', `${base}.pem`]);
    let key = `${base}.plain.key`;
    if (options.passphrase !== undefined) {
      key = `${base}.key`;
      openssl(['pkey', '-in', `${base}.plain.key`, '-aes256', '-passout', `pass:${options.passphrase}`, '-out', key]);
    }
    return { cert: `${base}.pem`, key };
  }
}
