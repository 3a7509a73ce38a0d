/**
 * A Broker-style pub/sub endpoint over WebSockets. It can listen (accept
 * clients on /v1/messages/json) and connect out (with reconnect), and routes
 * every data message by topic prefix to the local handlers and to every
 * subscribed peer, never back to its sender. Server and client sessions share
 * this one routing implementation.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { RawData, WebSocket } from './ws.js';
import { decodeMessage, encodeData, ErrorCode } from './envelope.js';
import { DecodeError } from './errors.js';
import type { ZeekEvent } from './event.js';
import { encodeEvent } from './event.js';
import { Link, type LinkOptions } from './link.js';
import { DEFAULT_LIMITS, frameSize, type WireLimits } from './limits.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import { Peer, type PeerInfo } from './peer.js';
import { Listener, type ListenOptions } from './server.js';
import type { SessionHost, SessionOptions } from './session.js';
import { topicMatches } from './topics.js';
import type { Value } from './values.js';

export const DEFAULT_MAX_FRAME_BYTES = DEFAULT_LIMITS.maxFrameBytes;

export interface EndpointOptions {
  /** Unique endpoint id; random by default. */
  id?: string;
  /** Version string sent in acks. */
  version?: string;
  /** Frames larger than this are refused with an error (default 16 MiB); overrides `limits.maxFrameBytes`. */
  maxFrameBytes?: number;
  /** What peers may send and how much is held for them (limits.ts); defaults for what is not given. */
  limits?: Partial<WireLimits>;
  /** How long an accepted client has to send its handshake (default 5 s). */
  handshakeTimeoutMs?: number;
  /** Ping interval; a peer that leaves MISSED_PINGS_ALLOWED (3) pings in a row unanswered is dropped (default 5 s, 0 = off). */
  pingIntervalMs?: number;
  /**
   * Whether a peer's messages also go on to the other subscribed peers
   * (default true). Off for a hub whose peers only talk to it: the agent's
   * nodes would otherwise each get every other node's hello and answers.
   */
  relay?: boolean;
  logger?: Logger;
}

export interface Delivery {
  readonly topic: string;
  readonly value: Value;
  readonly from: PeerInfo;
}

export type Handler = (delivery: Delivery) => void;

export interface PublishOptions {
  /** Deliver only to this peer (by id), still subject to its subscriptions. */
  to?: string;
}

interface Subscription { prefix: string; handler: Handler }

export interface EndpointEvents {
  'peer-up': [PeerInfo];
  'peer-down': [PeerInfo];
  /** A peer sent something malformed; it was answered with an error and dropped. */
  'bad-message': [PeerInfo, string];
  /** A peer sent an error message. */
  'peer-error': [PeerInfo, { code: string; context: string }];
}

export class Endpoint extends EventEmitter<EndpointEvents> {
  readonly id: string;
  readonly version: string;
  readonly maxFrameBytes: number;
  readonly limits: WireLimits;
  readonly handshakeTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly relay: boolean;
  readonly log: Logger;
  private readonly subscriptions: Subscription[] = [];
  private readonly peers = new Map<string, Peer>();
  /** Topic → the peers subscribed to it; rebuilt lazily whenever the set of peers changes. */
  private readonly routes = new Map<string, Peer[]>();
  private readonly servers: Listener[] = [];
  private readonly links = new Set<Link>();
  private inboundCount = 0;
  private closed = false;
  /** What this endpoint's listeners and links may use of it. */
  private readonly host: SessionHost;

  constructor(options: EndpointOptions = {}) {
    super();
    this.id = options.id ?? randomUUID();
    this.version = options.version ?? '1';
    this.limits = { ...DEFAULT_LIMITS, ...options.limits, ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }) };
    this.maxFrameBytes = this.limits.maxFrameBytes;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 5000;
    this.pingIntervalMs = options.pingIntervalMs ?? 5000;
    this.relay = options.relay ?? true;
    this.log = options.logger ?? silentLogger;
    this.host = {
      maxFrameBytes: this.maxFrameBytes,
      limits: this.limits,
      handshakeTimeoutMs: this.handshakeTimeoutMs,
      log: this.log,
      acknowledge: () => ({ id: this.nextInboundId(), version: this.version }),
      localTopics: () => this.localTopics(),
      attach: (info, socket, sessionOptions) => this.attach(info, socket, sessionOptions),
    };
  }

  /** Local handler for every message whose topic starts with `prefix`. Returns an unsubscribe function. */
  subscribe(prefix: string, handler: Handler): () => void {
    const sub = { prefix, handler };
    this.subscriptions.push(sub);
    return () => {
      const i = this.subscriptions.indexOf(sub);
      if (i >= 0) this.subscriptions.splice(i, 1);
    };
  }

  /** The prefixes local handlers subscribe to (what outgoing handshakes ask for). */
  localTopics(): string[] {
    return [...new Set(this.subscriptions.map((s) => s.prefix))];
  }

  publish(topic: string, value: Value, options: PublishOptions = {}): void {
    this.forward(topic, encodeData(topic, value), undefined, options.to);
  }

  publishEvent(topic: string, event: ZeekEvent, options: PublishOptions = {}): void {
    this.publish(topic, encodeEvent(event), options);
  }

  peerList(): PeerInfo[] {
    return [...this.peers.values()].map((p) => p.info);
  }

  /** How many topics have their subscriber lists cached (bounded by `limits.maxRoutes`). */
  get cachedRoutes(): number {
    return this.routes.size;
  }

  hasPeer(id: string): boolean {
    return this.peers.has(id);
  }

  /** Accepts WebSocket clients; resolves with the bound address. */
  async listen(options: ListenOptions): Promise<{ host: string; port: number }> {
    if (this.closed) throw new Error('endpoint is closed');
    const listener = new Listener(this.host, options);
    this.servers.push(listener);
    try {
      return await listener.start();
    } catch (err) {
      this.servers.splice(this.servers.indexOf(listener), 1);
      throw err;
    }
  }

  /** Connects out to a server, re-connecting with back-off unless told not to. */
  connect(options: LinkOptions): Link {
    if (this.closed) throw new Error('endpoint is closed');
    const link = new Link(this.host, options);
    this.links.add(link);
    link.once('closed', () => this.links.delete(link));
    link.start();
    return link;
  }

  /** Reads the listeners' TLS material again (SIGHUP): new sessions get it, established ones stay up. Links read theirs at every dial. */
  reloadTls(): void {
    for (const listener of this.servers) listener.reloadTls();
  }

  /** Sends one peer a Broker error message (e.g. for an event it cannot handle); the session stays up. */
  sendError(peerId: string, code: string, context: string): void {
    this.peers.get(peerId)?.sendError(code, context);
  }

  /** Drops one peer session (e.g. an agent the controller refuses). */
  disconnect(peerId: string, code = 1000, reason = ''): void {
    this.peers.get(peerId)?.close(code, reason);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.links].map((l) => l.close()));
    await Promise.all(this.servers.map((l) => l.close()));
    for (const peer of this.peers.values()) peer.close(1001, 'endpoint shutting down');
    this.peers.clear();
    this.routes.clear();
  }

  /** A listener's or link's session whose handshake is complete. */
  private attach(info: PeerInfo, socket: WebSocket, options: SessionOptions): void {
    const peer = new Peer(info, socket, {
      pingIntervalMs: options.pingIntervalMs ?? this.pingIntervalMs,
      relays: options.relay ?? this.relay,
      maxQueueBytes: this.limits.maxQueueBytes,
      onOverflow: (queued) => this.log.warn({ peer: info.id, remote: `${info.remoteAddress}:${info.remotePort}`, queued, limit: this.limits.maxQueueBytes },
        `dropping peer ${info.id}: it stopped reading and ${queued} bytes wait for it (limit ${this.limits.maxQueueBytes})`),
    });
    this.peers.set(info.id, peer);
    this.routes.clear();
    socket.on('message', (data, isBinary) => {
      try {
        this.receive(peer, data, isBinary);
      } catch (err) {
        // A bug, not the peer's fault; it must not take the process down all the same.
        this.log.error({ err, peer: info.id }, 'failed to handle a message');
        peer.sendError(ErrorCode.invalidData, 'the message could not be handled');
      }
    });
    socket.once('close', () => {
      peer.dispose();
      if (this.peers.get(info.id) === peer) this.peers.delete(info.id);
      this.routes.clear();
      this.emit('peer-down', info);
    });
    this.emit('peer-up', info);
  }

  /** A fresh id for an inbound session, shaped like Zeek's. */
  private nextInboundId(): string {
    this.inboundCount += 1;
    return `${this.id}-websocket-${this.inboundCount}`;
  }

  private receive(peer: Peer, data: RawData, isBinary: boolean): void {
    const size = frameSize(data);
    if (size > this.maxFrameBytes) {
      this.refuse(peer, ErrorCode.frameTooLarge, `frame of ${size} bytes exceeds the limit of ${this.maxFrameBytes} bytes`);
      return;
    }
    if (isBinary) {
      this.refuse(peer, ErrorCode.deserializationFailed, 'binary frames are not supported; send JSON text');
      return;
    }
    const text = data.toString();
    let msg;
    try {
      msg = decodeMessage(text, this.limits);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.refuse(peer, ErrorCode.deserializationFailed, err.message);
      return;
    }
    switch (msg.type) {
      case 'data-message':
        if (peer.info.mayPublish && !topicMatches(peer.info.mayPublish, msg.topic)) {
          this.refuse(peer, ErrorCode.invalidData, `publishing on topic ${msg.topic} is not allowed on this port`);
          return;
        }
        this.deliver(peer.info, msg.topic, msg.value);
        if (peer.relays) this.forward(msg.topic, text, peer, undefined);
        return;
      case 'error':
        // Whoever listens for peer errors decides how to report them.
        if (this.listenerCount('peer-error') === 0) this.log.warn({ peer: peer.info.id, code: msg.code, context: msg.context }, 'peer reported an error');
        this.emit('peer-error', peer.info, { code: msg.code, context: msg.context });
        return;
      default:
        this.log.debug({ peer: peer.info.id, kind: msg.type }, 'skipping non-data message');
    }
  }

  private refuse(peer: Peer, code: string, context: string): void {
    this.log.warn({ peer: peer.info.id, code, context }, 'malformed input from peer');
    peer.sendError(code, context);
    this.emit('bad-message', peer.info, context);
  }

  private deliver(from: PeerInfo, topic: string, value: Value): void {
    for (const sub of [...this.subscriptions]) {
      if (!topic.startsWith(sub.prefix)) continue;
      try {
        sub.handler({ topic, value, from });
      } catch (err) {
        this.log.error({ err, topic, peer: from.id }, 'message handler failed');
      }
    }
  }

  /**
   * Sends the encoded message to every peer subscribed to the topic, except
   * its sender. Neither a directed send nor routing looks at every peer, so a
   * request fanned out to N agents and their N answers cost O(N), not O(N²).
   */
  private forward(topic: string, text: string, sender: Peer | undefined, to: string | undefined): void {
    if (to !== undefined) {
      const peer = this.peers.get(to);
      if (peer && peer !== sender && peer.wants(topic)) peer.send(text);
      return;
    }
    for (const peer of this.subscribersOf(topic)) {
      if (peer !== sender) peer.send(text);
    }
  }

  private subscribersOf(topic: string): Peer[] {
    let list = this.routes.get(topic);
    if (!list) {
      list = [...this.peers.values()].filter((p) => p.wants(topic));
      // Topics are few in practice (one per agent, plus fixed ones), but peers choose them: bounded.
      if (this.routes.size >= this.limits.maxRoutes) this.routes.clear();
      this.routes.set(topic, list);
    }
    return list;
  }
}

export { topicMatches };
