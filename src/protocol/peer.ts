/**
 * One established WebSocket session (either direction) after its handshake:
 * who it is, what it subscribed to, and a heartbeat that drops it when it
 * stops answering pings.
 */
import type { WebSocket } from './ws.js';
import { encodeError } from './envelope.js';
import { topicMatches } from './topics.js';

export type Direction = 'inbound' | 'outbound';

/** What handlers learn about the peer a message came from. */
export interface PeerInfo {
  /** Endpoint id of the session: assigned in our ack (inbound) or read from the remote's ack (outbound). */
  readonly id: string;
  readonly direction: Direction;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Topic prefixes this peer receives. */
  readonly subscriptions: readonly string[];
  /** Topic prefixes this peer may publish on (unrestricted when absent). */
  readonly mayPublish?: readonly string[];
  /**
   * Who the session was admitted as (a role, e.g. `operator`), by the
   * listener's admission or, for a session we dialled, the link's options.
   */
  readonly principal?: string;
}

/**
 * Consecutive pings a peer may leave unanswered before it is dropped. One
 * is too strict: an agent starting a hundred nodes on a loaded two-core
 * host can be starved of CPU for several seconds (seen in the deploy
 * benchmark), and dropping it fails the deploy it is in the middle of.
 */
export const MISSED_PINGS_ALLOWED = 3;

export interface PeerOptions {
  pingIntervalMs: number;
  /** Whether this peer's messages go on to other subscribed peers. */
  relays: boolean;
  /** Bytes that may wait to be sent to this peer; past it the peer is dropped. */
  maxQueueBytes: number;
  /** Told (once) when the peer is dropped for not reading. */
  onOverflow: (queued: number) => void;
}

export class Peer {
  private missed = 0;
  private readonly heartbeat: NodeJS.Timeout | undefined;
  private overflowed = false;
  readonly relays: boolean;

  constructor(readonly info: PeerInfo, private readonly socket: WebSocket, private readonly options: PeerOptions) {
    this.relays = options.relays;
    socket.on('pong', () => { this.missed = 0; });
    socket.on('message', () => { this.missed = 0; });
    if (options.pingIntervalMs > 0) {
      this.heartbeat = setInterval(() => this.checkAlive(), options.pingIntervalMs);
      this.heartbeat.unref();
    }
  }

  wants(topic: string): boolean {
    return topicMatches(this.info.subscriptions, topic);
  }

  /**
   * Queues `text` for the peer. A peer that stops reading would make us hold
   * everything sent to it: once more than maxQueueBytes wait, it is dropped.
   */
  send(text: string): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    const queued = this.socket.bufferedAmount;
    if (queued > this.options.maxQueueBytes) {
      if (!this.overflowed) {
        this.overflowed = true;
        this.options.onOverflow(queued);
        this.dispose();
        this.socket.terminate();
      }
      return;
    }
    this.socket.send(text);
  }

  sendError(code: string, context: string): void {
    this.send(encodeError(code, context));
  }

  close(code: number, reason: string): void {
    this.dispose();
    this.socket.close(code, reason);
  }

  /** Stops the heartbeat; the socket is closed by whoever owns it. */
  dispose(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
  }

  private checkAlive(): void {
    if (this.missed >= MISSED_PINGS_ALLOWED) {
      this.socket.terminate();
      return;
    }
    this.missed += 1;
    try {
      this.socket.ping();
    } catch {
      this.socket.terminate();
    }
  }
}
