/**
 * The agents the controller knows: one session per instance name, however
 * it was made (the agent dialled in, or the controller dialled the
 * instance's listen port). Tracks which instances the current configuration
 * needs and which of those answered the welcome.
 */
import { plainAddress, type Endpoint, type Link, type LinkOptions, type PeerInfo, type Value } from '../protocol/index.js';
import { agentTopic, type Instance } from '../management/index.js';

export interface Session {
  readonly name: string;
  /** The agent's own endpoint id from its hello: the same agent process on every path. */
  readonly agentId: string;
  readonly peer: PeerInfo;
  /** True when the agent dialled us. */
  readonly connecting: boolean;
}

export class InstanceRegistry {
  /** Known agents by name: the session used to talk to each. */
  private readonly sessions = new Map<string, Session>();
  /** Every session that said hello, by peer id (an agent may be reachable both ways). */
  private readonly byPeer = new Map<string, Session>();
  /** Instances the current configuration needs. */
  readonly required = new Map<string, Instance>();
  /** Required instances that answered agent_welcome_request. */
  readonly ready = new Set<string>();
  private readonly links = new Map<string, Link>();
  /** Each instance's nodes as its agent last reported them (get_nodes), kept after it disconnects. */
  private readonly reported = new Map<string, Value>();

  /** `secureLink`: how to dial an instance's agent (its key proof, TLS). */
  constructor(private readonly endpoint: Endpoint, private readonly retryMaxMs: number, private readonly secureLink: (name: string) => Partial<LinkOptions>) {}

  /**
   * Why a hello must be refused, or undefined: the session already spoke
   * for another instance (what a session announced goes with it), another
   * agent process holds the name on a live session (a second agent would
   * take the instance's nodes over silently), or the configuration declares
   * the instance at an address (the controller dials it there) and this
   * agent connected from another one.
   */
  refusal(name: string, agentId: string, peer: PeerInfo, connecting: boolean): string | undefined {
    const earlier = this.byPeer.get(peer.id);
    if (earlier && earlier.name !== name) return `this session already speaks for instance ${earlier.name}`;
    const current = this.sessions.get(name);
    if (current && current.agentId !== agentId && current.peer.id !== peer.id && this.endpoint.hasPeer(current.peer.id)) {
      return `instance ${name} is already connected from ${addressOf(current.peer)} (agent ${current.agentId}); ` +
        `refusing a second agent of that name from ${addressOf(peer)}`;
    }
    const declared = this.required.get(name);
    const from = hostOf(peer);
    if (connecting && declared?.listenPort && !isUnspecified(declared.host) && hostOf({ remoteAddress: declared.host }) !== from) {
      if (current?.agentId === agentId && this.endpoint.hasPeer(current.peer.id)) return undefined;
      return `instance ${name} is declared at ${declared.host}:${declared.listenPort.number}, but this agent connected from ${from}; refusing it`;
    }
    return undefined;
  }

  /**
   * Records a hello that was not refused. 'second-path': the same agent
   * process reached another way (the session in use stays); 'again': known
   * before, its old session is gone; 'new': newly known.
   */
  hello(name: string, agentId: string, peer: PeerInfo, connecting: boolean): 'new' | 'second-path' | 'again' {
    const session = { name, agentId, peer, connecting };
    this.byPeer.set(peer.id, session);
    const current = this.sessions.get(name);
    const alive = current !== undefined && this.endpoint.hasPeer(current.peer.id);
    if (alive && current.peer.id !== peer.id && current.agentId === agentId) return 'second-path';
    this.sessions.set(name, session);
    if (current && current.agentId !== agentId) this.ready.delete(name);
    return current === undefined ? 'new' : 'again';
  }

  /** A peer went away. Returns the instance name if it lost its last session. */
  lost(peerId: string): string | undefined {
    const session = this.byPeer.get(peerId);
    if (!session) return undefined;
    this.byPeer.delete(peerId);
    if (this.sessions.get(session.name)?.peer.id !== peerId) return undefined;
    const other = [...this.byPeer.values()].find((s) => s.name === session.name && this.endpoint.hasPeer(s.peer.id));
    if (other) {
      this.sessions.set(session.name, other);
      return undefined;
    }
    this.sessions.delete(session.name);
    this.ready.delete(session.name);
    return session.name;
  }

  /** The instance a peer said hello as, if it did. */
  nameOf(peerId: string): string | undefined {
    return this.byPeer.get(peerId)?.name;
  }

  noteNodes(name: string, statuses: Value): void {
    this.reported.set(name, statuses);
  }

  lastNodes(name: string): Value | undefined {
    return this.reported.get(name);
  }

  session(name: string): Session | undefined {
    return this.sessions.get(name);
  }

  knownNames(): string[] {
    return [...this.sessions.keys()].sort();
  }

  /** Known instances as get_instances reports them: address as seen, listen port if we dialled. */
  known(): Instance[] {
    return this.knownNames().map((name) => {
      const s = this.sessions.get(name)!;
      const host = hostOf(s.peer) || '0.0.0.0';
      return s.connecting ? { name, host } : { name, host, listenPort: { number: s.peer.remotePort, protocol: 'tcp' } };
    });
  }

  /** Makes `instances` the required set; returns the names it dropped. Dials instances with a listen port. */
  require(instances: readonly Instance[]): string[] {
    const next = new Map(instances.map((i) => [i.name, i]));
    const dropped = [...this.required.keys()].filter((n) => !next.has(n) || changedAddress(this.required.get(n)!, next.get(n)!));
    for (const name of dropped) {
      this.required.delete(name);
      this.ready.delete(name);
      this.reported.delete(name);
      void this.links.get(name)?.close();
      this.links.delete(name);
    }
    for (const inst of instances) {
      this.required.set(inst.name, inst);
      if (inst.listenPort && !this.links.has(inst.name)) {
        this.links.set(inst.name, this.endpoint.connect({
          host: inst.host,
          port: inst.listenPort.number,
          subscriptions: [agentTopic(inst.name)],
          remoteTopics: [agentTopic(inst.name)],
          retry: { initialMs: 200, maxMs: this.retryMaxMs },
          // What an agent says is for the controller alone (notifications are re-published to clients explicitly).
          relay: false,
          ...this.secureLink(inst.name),
        }));
      }
    }
    return dropped;
  }

  /** Required instances that have not answered the welcome yet. */
  notReady(): string[] {
    return [...this.required.keys()].filter((n) => !this.ready.has(n)).sort();
  }

  async close(): Promise<void> {
    await Promise.all([...this.links.values()].map((l) => l.close()));
    this.links.clear();
  }
}

function changedAddress(a: Instance, b: Instance): boolean {
  return a.host !== b.host || a.listenPort?.number !== b.listenPort?.number;
}

/** A peer's address as configurations write it (no IPv4-mapped prefix). */
function hostOf(peer: { remoteAddress: string }): string {
  return plainAddress(peer.remoteAddress);
}

/** `host:port` of a peer, IPv6 in brackets. */
export function addressOf(peer: PeerInfo): string {
  const host = hostOf(peer);
  return `${host.includes(':') ? `[${host}]` : host}:${peer.remotePort}`;
}

const isUnspecified = (host: string): boolean => host === '0.0.0.0' || host === '::';
