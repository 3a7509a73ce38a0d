/**
 * The role a client session has, as `get_session_role` answers it: the
 * dashboard shows its actions (restart, stage, deploy, roll back) to an
 * operator and hides them from a viewer. The controller authenticates no
 * session yet, so every session is an operator; once sessions carry the
 * role they were admitted with, this is the one place that reads it.
 */
import type { PeerInfo } from '../protocol/index.js';

export const SESSION_ROLES = ['operator', 'viewer'] as const;
export type SessionRole = typeof SESSION_ROLES[number];

export function sessionRole(_from: PeerInfo): SessionRole {
  return 'operator';
}
