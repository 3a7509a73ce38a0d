/**
 * The agent's side of the agent → node protocol: one endpoint that dials
 * each node's management port (retrying until the node listens), learns
 * from `notify_node_hello` that a node checked in, and relays
 * `node_dispatch_request`s to single nodes with a deadline.
 */
import { Endpoint, type Link, type Logger, type PeerInfo } from '../protocol/index.js';
import {
  EventDispatcher, NodeApi, REQUEST_TIMED_OUT, RequestTracker, TOPIC_NODE, failure, type Result,
} from '../management/index.js';

export interface NodeSession {
  /** The node's session id while connected. */
  peer(): PeerInfo | undefined;
  /** Dials now rather than at the next retry (the node signalled it may be listening). */
  dialNow(): void;
  close(): Promise<void>;
}

interface Pending { node: string; resolve: (r: Result) => void }

export class NodeChannel {
  private readonly endpoint: Endpoint;
  private readonly hellos = new Map<string, (name: string) => void>();
  private readonly tracker: RequestTracker;

  constructor(agentName: string, private readonly log: Logger, defaultTimeoutMs: number) {
    this.endpoint = new Endpoint({ id: `${agentName}-nodes`, relay: false, logger: log });
    this.tracker = new RequestTracker(defaultTimeoutMs);
    const dispatcher = new EventDispatcher([NodeApi], (p) => log.warn({ peer: p.from.id, event: p.event, error: p.error }, 'invalid event from a node'))
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

  /** Dials a node's management port until closed; `onHello` gets every name the node checks in with. */
  connect(port: number, host: string, onHello: (name: string) => void): NodeSession {
    const link: Link = this.endpoint.connect({
      host, port, subscriptions: [TOPIC_NODE], remoteTopics: [TOPIC_NODE], retry: { initialMs: 50, maxMs: 250 }, connectTimeoutMs: 2000,
    });
    link.on('up', (peer) => this.hellos.set(peer.id, onHello));
    link.on('down', (peer) => { if (peer) this.hellos.delete(peer.id); });
    return {
      peer: () => link.connected,
      dialNow: () => link.dialNow(),
      close: async () => {
        const peer = link.connected;
        if (peer) this.hellos.delete(peer.id);
        await link.close();
      },
    };
  }

  /** Sends the action to one node and resolves with its Result (a failure on timeout). */
  dispatch(peerId: string, node: string, action: readonly string[], timeoutMs?: number): Promise<Result> {
    return new Promise((resolve) => {
      const req = this.tracker.create<Pending>({
        state: { node, resolve },
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        onTimeout: (r) => resolve(failure(r.id, REQUEST_TIMED_OUT, { node })),
      });
      this.endpoint.publishEvent(TOPIC_NODE, NodeApi.nodeDispatch.request.make(req.id, [...action], [node]), { to: peerId });
    });
  }

  async close(): Promise<void> {
    this.tracker.close();
    await this.endpoint.close();
  }
}
