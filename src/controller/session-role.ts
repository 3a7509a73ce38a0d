/**
 * The role a client session has, as `get_session_role` answers it: the role
 * it was admitted with (controller/security.ts: a token, a client
 * certificate, or an anonymous operator on loopback). The dashboard shows
 * its actions (restart, stage, deploy, roll back) to an operator and hides
 * them from a viewer; the controller refuses a viewer's writes either way
 * (management/access.ts), so the page's choice is a courtesy, not the check.
 */
import { CLIENT_ROLES, type ClientRole } from '../management/access.js';
import type { PeerInfo } from '../protocol/index.js';

/** The session's client role; a session with no client role (none reaches the client API) reads as a viewer. */
export function sessionRole(from: PeerInfo): ClientRole {
  return (CLIENT_ROLES as readonly string[]).includes(from.principal ?? '') ? from.principal as ClientRole : 'viewer';
}
