/**
 * The one request mechanism of the controller: a gather (a client request,
 * or one the controller makes itself) owns one child request per agent it
 * asks; responses are matched by the child's id; the gather completes when
 * every child answered, an agent went away, or the deadline passed (then
 * with what arrived plus `request timed out`), and hands its Results to the
 * completion callback it was started with. Late and unknown responses are
 * logged and dropped.
 */
import { REQUEST_TIMED_OUT, RequestTracker, failure, type Request, type RequestSpec, type Result } from '../management/index.js';
import type { Logger, ZeekEvent } from '../protocol/index.js';

/** How a gather ended. */
export type Completion = 'answered' | 'timed-out';

export interface GatherOptions {
  /** The client's reqid; the tracker makes one when absent. */
  id?: string;
  /** What it is, for logs (e.g. `get_nodes`). */
  kind: string;
  /** Results it starts with (e.g. failures for unknown node names). */
  results?: Result[];
  /** Default: the tracker's request timeout. */
  timeoutMs?: number;
  /** Results to add when the deadline passes, before `request timed out`. */
  onDeadline?: () => Result[];
  /** Runs once: every Result, in arrival order. */
  onComplete: (results: Result[], completion: Completion) => void;
}

/** A request waiting for agents. */
export interface Gather {
  readonly kind: string;
  /** Child request id → instance asked. */
  readonly outstanding: Map<string, string>;
  readonly results: Result[];
  readonly onDeadline: GatherOptions['onDeadline'];
  readonly onComplete: GatherOptions['onComplete'];
}

/**
 * A request to one agent; its tracker entry's `parent` is the gather's id. `level`: of its log lines: a read
 * (get_nodes to each of 1000 agents every few seconds) is a debug line per agent, so that the audit trail in
 * management.log (the client's request and its answer, every write to each agent) is not rotated away by polling.
 */
interface Child { instance: string; level: AgentLineLevel }

export type AgentLineLevel = 'info' | 'debug';

/** Sends an event to an instance's agent, logged at `level`; false when it has no session. */
export type SendToAgent = (instance: string, event: ZeekEvent, reqid: string, level: AgentLineLevel) => boolean;

export class Gatherer {
  private readonly open = new Set<string>();

  constructor(private readonly tracker: RequestTracker, private readonly log: Logger, private readonly send: SendToAgent) {}

  /** Whether a request with this id is waiting (a client must not reuse it). */
  pending(reqid: string): boolean {
    return this.tracker.get(reqid) !== undefined;
  }

  start(options: GatherOptions): Request<Gather> {
    const state: Gather = {
      kind: options.kind, outstanding: new Map(), results: options.results ?? [], onDeadline: options.onDeadline, onComplete: options.onComplete,
    };
    const req = this.tracker.create<Gather>({
      state,
      onTimeout: (r) => this.expired(r),
      ...(options.id === undefined ? {} : { id: options.id }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    this.open.add(req.id);
    return req;
  }

  /** The id of an open gather of this kind, if any. */
  openOfKind(kind: string): string | undefined {
    return [...this.open].find((id) => this.tracker.get<Gather>(id)?.state.kind === kind);
  }

  get(reqid: string): Request<Gather> | undefined {
    return this.open.has(reqid) ? this.tracker.get<Gather>(reqid) : undefined;
  }

  /** Sends `spec`'s request with `args` to each instance; completes at once if there is nobody to ask. */
  fanOut<A extends readonly unknown[]>(req: Request<Gather>, instances: readonly string[], spec: RequestSpec<A, unknown>, ...args: A): void {
    const level: AgentLineLevel = spec.access === 'read' ? 'debug' : 'info';
    for (const instance of instances) {
      // The parent's deadline rules; the child only needs to outlive it.
      const child = this.tracker.create<Child>({ parent: req.id, state: { instance, level }, deadline: req.deadline + 1000, onTimeout: () => undefined });
      req.state.outstanding.set(child.id, instance);
      if (!this.send(instance, spec.request.make(child.id, ...args), child.id, level)) {
        this.tracker.finish(child.id);
        req.state.outstanding.delete(child.id);
        req.state.results.push(failure(req.id, `instance ${instance} is not connected`, { instance }));
      }
    }
    this.completeIfDone(req);
  }

  /** An agent's response (`event` names it in logs). Returns false (and logs) if nobody waits for it. */
  /** `from`: the instance whose session answered; an answer to a request sent to another instance is ignored. */
  answered(childId: string, results: readonly Result[], event: string, from?: string): boolean {
    const child = this.tracker.get<Child>(childId);
    const req = child?.parent === undefined ? undefined : this.get(child.parent);
    if (child && from !== undefined && child.state.instance !== from) {
      this.log.warn({ reqid: childId, event, from, asked: child.state.instance }, `ignoring ${event} ${childId} from ${from}: it was sent to ${child.state.instance}`);
      return false;
    }
    if (!child || !req) {
      this.log.warn({ reqid: childId, event }, `ignoring ${event} ${childId}: no such request pending (late or unknown)`);
      return false;
    }
    this.tracker.finish(childId);
    this.log[child.state.level]({ reqid: childId, parent: req.id, instance: child.state.instance, results: results.length }, `rx ${event}`);
    req.state.outstanding.delete(childId);
    // Agents' results go to the client as they came (the original does the same), except that an agent speaks for its
    // own instance only: a Result naming another one is put under the instance that answered.
    const asked = child.state.instance;
    req.state.results.push(...results.map((r) => (r.instance === undefined || r.instance === asked ? r : { ...r, instance: asked })));
    this.completeIfDone(req);
    return true;
  }

  /** An agent's session is gone: its pending children fail now rather than at the deadline. */
  instanceLost(instance: string): void {
    for (const id of [...this.open]) {
      const req = this.tracker.get<Gather>(id);
      if (!req) continue;
      let removed = false;
      for (const [childId, name] of [...req.state.outstanding]) {
        if (name !== instance) continue;
        removed = true;
        this.tracker.finish(childId);
        req.state.outstanding.delete(childId);
        req.state.results.push(failure(req.id, `instance ${instance} disconnected`, { instance }));
      }
      if (removed) this.completeIfDone(req);
    }
  }

  /** Completes a gather now (e.g. nothing to ask, or the controller gave up on it). */
  finish(req: Request<Gather>, extra: Result[] = [], completion: Completion = 'answered'): void {
    if (!this.open.delete(req.id)) return;
    this.tracker.finish(req.id);
    for (const childId of req.state.outstanding.keys()) this.tracker.finish(childId);
    req.state.onComplete([...req.state.results, ...extra], completion);
  }

  close(): void {
    this.open.clear();
  }

  private completeIfDone(req: Request<Gather>): void {
    if (req.state.outstanding.size === 0) this.finish(req);
  }

  private expired(req: Request<Gather>): void {
    if (!this.open.has(req.id)) return;
    this.log.warn({ reqid: req.id, kind: req.state.kind, waitingFor: [...req.state.outstanding.values()] }, `request ${req.id} timed out`);
    // The tracker already dropped the expired entry; finish() drops the children.
    this.finish(req, [...(req.state.onDeadline?.() ?? []), failure(req.id, REQUEST_TIMED_OUT)], 'timed-out');
  }
}
