/**
 * What a listener or a link needs from the endpoint that owns it: its
 * limits, its logger, the ack it gives, the topics it wants, and where an
 * established session goes. Listener and Link depend on this narrow host,
 * not on Endpoint, so the endpoint can own them without an import circle.
 */
import type { WireLimits } from './limits.js';
import type { Logger } from './logger.js';
import type { PeerInfo } from './peer.js';
import type { WebSocket } from './ws.js';

/** Per listener or link: how the sessions it establishes are treated. */
export interface SessionOptions {
  /** Ping interval (default: the endpoint's). */
  pingIntervalMs?: number;
  /**
   * Whether the peers' messages also go on to other subscribed peers
   * (default: the endpoint's `relay`). Off where peers only talk to this
   * endpoint: agents whose names prefix each other's (agent-1, agent-10)
   * would otherwise get each other's answers through the controller.
   */
  relay?: boolean;
}

export interface SessionHost {
  readonly maxFrameBytes: number;
  readonly limits: WireLimits;
  /** How long an accepted client has to send its handshake. */
  readonly handshakeTimeoutMs: number;
  readonly log: Logger;
  /** The ack for a new inbound session: a fresh session id and our version. */
  acknowledge(): { id: string; version: string };
  /** The prefixes local handlers subscribe to (what an outgoing handshake asks for by default). */
  localTopics(): string[];
  /** Takes over a session whose handshake is complete. */
  attach(info: PeerInfo, socket: WebSocket, options: SessionOptions): void;
}
