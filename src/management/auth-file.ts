/**
 * Who may use the controller's client port besides anonymous loopback
 * clients: the auth file (`--auth-file`), one credential per line,
 *
 *     operator  token:<secret, 16 or more characters>
 *     viewer    token:<secret>
 *     viewer    cert:<common name of a client certificate>
 *
 * A client certificate that verifies against the controller's CA and is not
 * listed is an operator's (whoever issues certificates from that CA decides),
 * as with the original's mutual TLS; list it as `viewer` to restrict it.
 * Tokens are kept as SHA-256 digests and compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Outcome } from '../protocol/errors.js';
import { CLIENT_ROLES, type ClientRole } from './access.js';

export class AuthTable {
  private constructor(private readonly tokens: { digest: Buffer; role: ClientRole }[], private readonly certs: Map<string, ClientRole>) {}

  static empty(): AuthTable {
    return new AuthTable([], new Map());
  }

  static read(path: string): Outcome<AuthTable> {
    let text: string;
    try {
      if ((statSync(path).mode & 0o077) !== 0) return { ok: false, error: `auth file ${path} may be read by others; chmod 600 it` };
      text = readFileSync(path, 'utf8');
    } catch (err) {
      return { ok: false, error: `cannot read auth file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
    return AuthTable.parse(text, path);
  }

  static parse(text: string, where: string): Outcome<AuthTable> {
    const tokens: { digest: Buffer; role: ClientRole }[] = [];
    const certs = new Map<string, ClientRole>();
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i += 1) {
      const line = lines[i]!.replace(/(^|\s)#.*$/, '').trim();
      if (line === '') continue;
      const bad = (why: string): Outcome<AuthTable> => ({ ok: false, error: `${where}:${i + 1}: ${why}` });
      const m = /^(\S+)\s+(token|cert):(\S.*)$/.exec(line);
      if (!m) return bad('expected "<role> token:<secret>" or "<role> cert:<common name>"');
      const role = m[1]!;
      if (!(CLIENT_ROLES as readonly string[]).includes(role)) return bad(`unknown role ${JSON.stringify(role)}; roles are ${CLIENT_ROLES.join(', ')}`);
      const value = m[3]!.trim();
      if (m[2] === 'token') {
        if (value.length < 16 || /\s/.test(value)) return bad('a token has 16 or more characters and no spaces');
        tokens.push({ digest: digest(value), role: role as ClientRole });
      } else certs.set(value, role as ClientRole);
    }
    return { ok: true, value: new AuthTable(tokens, certs) };
  }

  roleOfToken(token: string): ClientRole | undefined {
    const d = digest(token);
    let found: ClientRole | undefined;
    for (const t of this.tokens) if (timingSafeEqual(t.digest, d)) found ??= t.role;
    return found;
  }

  roleOfCertificate(commonName: string): ClientRole {
    return this.certs.get(commonName) ?? 'operator';
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
