/**
 * Who a new session is, decided before it is attached: the credentials a
 * listener gathered from the upgrade request and the connection (client
 * certificate, bearer token, proven shared key) and the verdict of the
 * listener's owner. The protocol layer collects and checks credentials; what
 * they entitle a session to is the owner's business (a principal string and
 * the topics it may use).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export interface Credentials {
  readonly remoteAddress: string;
  /** The address is on this host (127.0.0.0/8, ::1). */
  readonly loopback: boolean;
  /** From `Authorization: Bearer …`. */
  readonly bearer?: string;
  /** A client certificate that verified against the listener's CA: its subject's common name. */
  readonly certificate?: { readonly commonName: string };
  /** The name whose shared key the peer proved it holds (see KeyProof). */
  readonly keyId?: string;
}

export type Admission =
  | { ok: true; principal: string; mayPublish?: readonly string[]; maySubscribe?: readonly string[] }
  | { ok: false; error: string };

export type Admit = (credentials: Credentials) => Admission;

/** An address as people write it: an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as plain IPv4. */
export function plainAddress(address: string): string {
  return address.replace(/^::ffff:/, '');
}

export function isLoopback(address: string): boolean {
  const a = plainAddress(address);
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
}

/**
 * Mutual proof of a shared key, without sending it. The dialler names the
 * key (`id`) and sends a nonce in its upgrade request; the listener answers
 * the upgrade with its own nonce and an HMAC over both: the dialler checks
 * it before it says anything (a process squatting the port learns nothing
 * and can command nothing), then sends its own HMAC, over the listener's
 * fresh nonce, as its first frame. Each proof names the party that made it
 * (`self` of its SharedKey: e.g. `agent` or `controller`), not the side of
 * the connection: an agent both listens and dials with its one key, so a
 * proof its listener made must not pass as its controller's on its own dial
 * (a port squatter relaying between the two would otherwise be admitted).
 */
export const KeyProof = {
  idHeader: 'x-zeek-mgmt-key-id',
  nonceHeader: 'x-zeek-mgmt-nonce',
  proofHeader: 'x-zeek-mgmt-proof',
  /** The dialler's proof frame type: `{"type":"key-proof","proof":"…"}`. */
  frameType: 'key-proof',
  nonce: (): string => randomBytes(24).toString('base64url'),
  /** The proof `prover` (one side of `shared`) gives for this pair of nonces. */
  proof: (shared: SharedKey, prover: string, dialler: string, listener: string): string => mac(shared.key, prover, shared.id, dialler, listener),
  same(a: string, b: string): boolean {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  },
} as const;

export interface SharedKey {
  /** Which key (e.g. the agent's name): the listener looks it up. */
  readonly id: string;
  readonly key: Buffer;
  /** The party holding this side (e.g. `agent`), named in the proofs it makes. */
  readonly self: string;
  /** The party the other side must be (e.g. `controller`): only its proofs are accepted. */
  readonly peer: string;
}

function mac(key: Buffer, prover: string, id: string, dialler: string, listener: string): string {
  return createHmac('sha256', key).update(['zeek-mgmt key proof v2', prover, id, dialler, listener].join('\0')).digest('base64url');
}
