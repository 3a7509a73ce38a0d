/**
 * The agent's side of the agent → node protocol: one endpoint that dials
 * each node's management port (retrying until the node listens), learns
 * from `notify_node_hello` that a node checked in, and relays
 * `node_dispatch_request`s to single nodes with a deadline.
 */
import type { DaemonLimits } from '../management/limits.js';
import { Endpoint, type Link, type Logger, type PeerInfo } from '../protocol/index.js';
import {
  nobody,
  EventDispatcher, NodeApi, REQUEST_TIMED_OUT, RequestTracker, TOPIC_NODE, failure, nodeTopic, type Result,
} from '../management/index.js';

export interface NodeSession {
  /** The node's session id while connected. */
  peer(): PeerInfo | undefined;
  /** Dials now rather than at the next retry (the node signalled it may be listening). */
  dialNow(): void;
  close(): Promise<void>;
}

interface Pending { node: string; resolve: (r: Result) => void }

/** The check-in probe's first wait after the session is up, and its longest. */
const PROBE_FIRST_MS = 150;
const PROBE_MAX_MS = 1000;
/** How long one probe waits for its answer before the next is sent. */
const PROBE_ANSWER_MS = 300;

export class NodeChannel {
  private readonly endpoint: Endpoint;
  private readonly hellos = new Map<string, (name: string) => void>();
  private readonly tracker: RequestTracker;

  constructor(agentName: string, private readonly log: Logger, defaultTimeoutMs: number, limits?: DaemonLimits) {
    this.endpoint = new Endpoint({ id: `${agentName}-nodes`, relay: false, logger: log, ...(limits ? { limits: limits.wire } : {}) });
    this.tracker = new RequestTracker(defaultTimeoutMs);
    const dispatcher = new EventDispatcher([NodeApi], (p) => log.warn({ peer: p.from.id, event: p.event, error: p.error }, 'invalid event from a node'), nobody)
      .on(NodeApi.notifyNodeHello, ([name], from) => {
        log.info({ node: name, peer: from.id }, 'rx notify_node_hello');
        this.hellos.get(from.id)?.(name);
      })
      .answers(NodeApi.nodeDispatch, (reqid, [result]) => {
        const req = this.tracker.finish<Pending>(reqid);
        if (req && result) req.state.resolve(result);
      });
    this.endpoint.subscribe(TOPIC_NODE, dispatcher.handle);
  }

  /**
   * Dials a node's management port until closed, on the node's own topic
   * plus `relayTopics` (nodes reached through this session over the
   * cluster); `onHello` gets every name the node checks in with.
   */
  connect(node: string, port: number, host: string, relayTopics: readonly string[], onHello: (name: string) => void): NodeSession {
    const topics = [nodeTopic(node), ...relayTopics.filter((t) => t !== nodeTopic(node))];
    const link: Link = this.endpoint.connect({
      host, port, subscriptions: topics, remoteTopics: topics, retry: { initialMs: 50, maxMs: 250 }, connectTimeoutMs: 2000,
      // A node may ask the agent nothing (the dispatcher serves nobody); the role names the session in logs and checks.
      principal: `node:${node}`,
    });
    let greeted = false;
    let closed = false;
    const greet = (name: string): void => { greeted = true; onHello(name); };
    link.on('up', (peer) => {
      greeted = false;
      this.hellos.set(peer.id, greet);
      void this.probe(peer.id, node, () => greeted || closed || link.connected?.id !== peer.id, greet);
    });
    link.on('down', (peer) => { if (peer) this.hellos.delete(peer.id); });
    return {
      peer: () => link.connected,
      dialNow: () => link.dialNow(),
      close: async () => {
        closed = true;
        const peer = link.connected;
        if (peer) this.hellos.delete(peer.id);
        await link.close();
      },
    };
  }

  /**
   * A node's hello can be lost: over a cluster backend it travels through
   * the pub/sub, and a subscription made a moment ago may not have reached
   * the publisher yet (ZeroMQ's proxy). Until the node has said hello, ask it
   * its name (`get_id_value Cluster::node`): its answer checks it in as well.
   */
  private async probe(peerId: string, node: string, done: () => boolean, greet: (name: string) => void): Promise<void> {
    for (let delay = PROBE_FIRST_MS; !done(); delay = Math.min(delay * 2, PROBE_MAX_MS)) {
      await new Promise((r) => setTimeout(r, delay).unref());
      if (done()) return;
      const r = await this.dispatch(peerId, node, ['get_id_value', 'Cluster::node'], PROBE_ANSWER_MS);
      if (done()) return;
      if (r.success && r.data?.type === 'string') {
        let name: unknown;
        try { name = JSON.parse(r.data.value); } catch { name = undefined; }
        if (typeof name === 'string') {
          this.log.info({ node: name, peer: peerId }, 'node answered the check-in probe');
          greet(name);
        }
      }
    }
  }

  /** Sends the action to one node and resolves with its Result (a failure on timeout). */
  dispatch(peerId: string, node: string, action: readonly string[], timeoutMs?: number): Promise<Result> {
    return new Promise((resolve) => {
      const req = this.tracker.create<Pending>({
        state: { node, resolve },
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        onTimeout: (r) => resolve(failure(r.id, REQUEST_TIMED_OUT, { node })),
      });
      this.endpoint.publishEvent(nodeTopic(node), NodeApi.nodeDispatch.request.make(req.id, [...action], [node]), { to: peerId });
    });
  }

  async close(): Promise<void> {
    this.tracker.close();
    await this.endpoint.close();
  }
}
