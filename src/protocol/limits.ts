/**
 * What one endpoint accepts from its peers, and how much it holds for them.
 * Every listener is reachable by someone we do not trust: each limit here
 * bounds what one peer (or one address) can make us parse, remember or
 * queue. The defaults suit a management plane (a 10 000-node configuration
 * is ~6 MB on the wire); the daemons let operators change them by flag
 * (management/limits.ts).
 */
import type { RawData } from 'ws';

export interface WireLimits {
  /** Largest frame accepted; a larger one is refused with `frame_too_large`. */
  readonly maxFrameBytes: number;
  /** Deepest nesting of Broker values (vectors, sets, tables) in a message. */
  readonly maxDepth: number;
  /** Longest topic (characters), in a data message or a handshake's subscription. */
  readonly maxTopicLength: number;
  /** Most topic prefixes one handshake may subscribe to. */
  readonly maxSubscriptions: number;
  /** Bytes queued for one peer that does not read; past it the peer is dropped. */
  readonly maxQueueBytes: number;
  /** Open connections from one remote address to one listener; more are refused. */
  readonly maxConnectionsPerAddress: number;
  /** Topics whose subscriber lists are cached for routing. */
  readonly maxRoutes: number;
}

export const DEFAULT_LIMITS: WireLimits = Object.freeze({
  maxFrameBytes: 16 * 1024 * 1024,
  maxDepth: 32,
  maxTopicLength: 1024,
  maxSubscriptions: 64,
  maxQueueBytes: 64 * 1024 * 1024,
  maxConnectionsPerAddress: 128,
  maxRoutes: 1024,
});

/** The size of a received frame, however ws handed it over. */
export function frameSize(data: RawData): number {
  return Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
}
