/**
 * Who may ask what. Every session carries the principal it was admitted
 * with (a bearer token, a client certificate, the agent key, or an
 * anonymous client on loopback); every request definition says whether it
 * reads or writes (`access`). A dispatcher cannot serve a request without an
 * Authorizer, so a request added later is checked like the others.
 *
 * Roles: `operator` (everything), `viewer` (read requests and
 * notifications), `controller` (what an agent obeys), `agent:<name>` (speaks
 * on that agent's topic only), `node:<name>`.
 */
import type { PeerInfo } from '../protocol/peer.js';
import type { RequestKind } from './events.js';

export type Role = 'operator' | 'viewer' | 'controller' | `agent:${string}` | `node:${string}`;

export const CLIENT_ROLES = ['operator', 'viewer'] as const;
export type ClientRole = typeof CLIENT_ROLES[number];

export const agentRole = (name: string): Role => `agent:${name}`;

/** Why `from` may not have `spec` served, or undefined when it may. */
export type Authorizer = (spec: RequestKind, from: PeerInfo) => string | undefined;

const who = (from: PeerInfo): string => (from.principal ? `role ${from.principal}` : 'no role');

/** The controller's client API: an operator may ask anything, a viewer what only reads. */
export const clientPolicy: Authorizer = (spec, from) => {
  if (from.principal === 'operator') return undefined;
  if (from.principal === 'viewer' && spec.access === 'read') return undefined;
  return `not authorised: ${spec.kind}_request needs the ${spec.access === 'read' ? 'viewer or operator' : 'operator'} role; this session has ${who(from)}`;
};

/** Only sessions admitted as `role` (an agent obeys its controller alone). */
export function onlyRole(role: Role): Authorizer {
  return (spec, from) => (from.principal === role ? undefined : `not authorised: ${spec.kind}_request is accepted from the ${role} only; this session has ${who(from)}`);
}

/** Serves no session: for a dispatcher that serves no requests (the controller's agent side), should one be added. */
export const nobody: Authorizer = (spec) => `not authorised: ${spec.kind}_request is not served here`;

/** Serves every session: for endpoints whose listener admits only the one peer they serve, and test doubles. */
export const anyone: Authorizer = () => undefined;
