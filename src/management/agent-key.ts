/**
 * The keys that tie agents to their controller. The controller keeps one
 * installation secret (`agent-secret` in its state directory, 0600, made at
 * its first start); each agent holds only the key derived from it for its
 * own name, so a compromised sensor cannot speak for another. Both sides
 * prove the key without sending it (protocol/admission.ts KeyProof): an
 * agent obeys only the controller that knows its key, on loopback too.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Outcome } from '../protocol/errors.js';
import type { SharedKey } from '../protocol/admission.js';

export const AGENT_SECRET_FILE = 'agent-secret';

/** The key of agent `name` under the installation secret. */
export function agentKey(secret: Buffer, name: string): Buffer {
  return createHmac('sha256', secret).update(`zeek-mgmt agent key\0${name}`).digest();
}

/** Agent `name`'s side of its key: what its listener answers with and its dial proves; it accepts only the controller's proofs. */
export function agentSide(name: string, key: Buffer): SharedKey {
  return { id: name, key, self: 'agent', peer: 'controller' };
}

/** The controller's side of agent `name`'s key: it accepts only that agent's proofs. */
export function controllerSide(name: string, key: Buffer): SharedKey {
  return { id: name, key, self: 'controller', peer: 'agent' };
}

/** The installation secret in the controller's state directory, made (0600) if absent. */
export function controllerSecret(stateDir: string): Outcome<Buffer> {
  const path = join(stateDir, AGENT_SECRET_FILE);
  if (!existsSync(path)) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    try {
      writeFileSync(path, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return { ok: false, error: `cannot create ${path}: ${(err as Error).message}` };
    }
  }
  return readKeyFile(path);
}

/**
 * A key file: one line of base64url (what `controllerSecret` and
 * `writeKeyFile` write). Refused when others may read it, as ssh refuses a
 * private key.
 */
export function readKeyFile(path: string): Outcome<Buffer> {
  let text: string;
  try {
    if ((statSync(path).mode & 0o077) !== 0) return { ok: false, error: `key file ${path} may be read by others; chmod 600 it` };
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    return { ok: false, error: `cannot read key file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  const key = Buffer.from(text, 'base64url');
  if (!/^[A-Za-z0-9_-]+$/.test(text) || key.length < 16) return { ok: false, error: `key file ${path} does not hold a key (one line of at least 16 base64url-encoded bytes)` };
  return { ok: true, value: key };
}

/** Writes a key file 0600 (its directory 0700 when made). */
export function writeKeyFile(path: string, key: Buffer): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${key.toString('base64url')}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}
