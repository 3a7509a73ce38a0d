/** What the controller's request handlers share: settings, state, agents and the ways to send. */
import type { RequestKind, Result } from '../management/index.js';
import type { ManagementLogger } from '../management/log.js';
import type { ZeekEvent } from '../protocol/index.js';
import type { ControllerOptions } from './config.js';
import type { AgentLineLevel, Gatherer } from './gather.js';
import type { InstanceRegistry } from './instances.js';
import type { ConfigStates } from './state.js';
import type { ControllerStore } from './store.js';

export interface ControllerContext {
  readonly options: ControllerOptions;
  readonly log: ManagementLogger;
  readonly states: ConfigStates;
  readonly store: ControllerStore;
  readonly instances: InstanceRegistry;
  readonly gather: Gatherer;
  /** Publishes a notification to every client on the controller topic (and logs it). */
  toClients(event: ZeekEvent, summary?: object): void;
  /** Answers a client's request with these Results: to that client's session (`to`) only. */
  respond(spec: RequestKind, reqid: string, results: readonly Result[], to: string): void;
  /** Sends to an instance's agent session, logged at `level` (info by default); false if it has none. */
  toAgent(instance: string, event: ZeekEvent, reqid: string, level?: AgentLineLevel): boolean;
}
