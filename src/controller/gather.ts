/**
 * The one request mechanism of the controller: a client request (or an
 * internal deployment) owns one child request per agent it asks; responses
 * are matched by the child's id; the parent completes when every child
 * answered, an agent went away, or the deadline passed — then with what
 * arrived plus `request timed out`. Late and unknown responses are logged and
 * dropped.
 */
import { REQUEST_TIMED_OUT, RequestTracker, failure, type Configuration, type Request, type Result } from '../management/index.js';
import type { ManagementLogger } from '../management/log.js';
import type { ZeekEvent } from '../protocol/index.js';

export type Kind = 'deploy' | 'get_nodes' | 'get_id_value' | 'restart' | 'test_timeout';

/** A request waiting for agents. */
export interface Gather {
  kind: Kind;
  /** Child request id → instance asked. */
  outstanding: Map<string, string>;
  results: Result[];
  /** Only for deployments. */
  deploy?: { config: Configuration; internal: boolean; sent: boolean };
}

/** A request to one agent; `parent` is the Gather it belongs to, if any. */
export interface Child { instance: string }

export type Outcome = 'answered' | 'timeout';

export interface GatherHooks {
  /** Sends an event to an instance's agent; false when it has no session. */
  send(instance: string, event: ZeekEvent, reqid: string): boolean;
  /** A gather is done: all results, in arrival order. */
  complete(req: Request<Gather>, results: Result[], outcome: Outcome): void;
}

export class Gatherer {
  private readonly open = new Set<string>();

  constructor(private readonly tracker: RequestTracker, private readonly log: ManagementLogger, private readonly hooks: GatherHooks) {}

  /** Whether a request with this id is waiting (a client must not reuse it). */
  pending(reqid: string): boolean {
    return this.tracker.get(reqid) !== undefined;
  }

  start(reqid: string, kind: Kind, results: Result[] = [], deploy?: Gather['deploy']): Request<Gather> {
    const state: Gather = { kind, outstanding: new Map(), results, ...(deploy ? { deploy } : {}) };
    this.open.add(reqid);
    return this.tracker.create<Gather>({ id: reqid, state, onTimeout: (req) => this.expired(req) });
  }

  get(reqid: string): Request<Gather> | undefined {
    return this.open.has(reqid) ? this.tracker.get<Gather>(reqid) : undefined;
  }

  /** Sends one child request per instance; completes at once if there is nobody to ask. */
  fanOut(req: Request<Gather>, instances: readonly string[], make: (childId: string) => ZeekEvent): void {
    for (const instance of instances) {
      // The parent's deadline rules; the child only needs to outlive it.
      const child = this.tracker.create<Child>({ parent: req.id, state: { instance }, timeoutMs: req.deadline - Date.now() + 1000, onTimeout: () => undefined });
      req.state.outstanding.set(child.id, instance);
      if (!this.hooks.send(instance, make(child.id), child.id)) {
        this.tracker.finish(child.id);
        req.state.outstanding.delete(child.id);
        req.state.results.push(failure(req.id, `instance ${instance} is not connected`, { instance }));
      }
    }
    this.completeIfDone(req);
  }

  /** An agent's response. Returns false (and logs) if nobody waits for it. */
  answered(childId: string, results: readonly Result[], event: string): boolean {
    const child = this.tracker.get<Child>(childId);
    const req = child?.parent === undefined ? undefined : this.get(child.parent);
    if (!child || !req) {
      this.log.warn({ reqid: childId, event }, `ignoring ${event} ${childId}: no such request pending (late or unknown)`);
      return false;
    }
    this.tracker.finish(childId);
    this.log.info({ reqid: childId, parent: req.id, instance: child.state.instance, results: results.length }, `rx ${event}`);
    req.state.outstanding.delete(childId);
    // Agents' results go to the client as they came (the original does the same).
    req.state.results.push(...results);
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

  /** Completes a gather now (e.g. nothing to ask). */
  finish(req: Request<Gather>, extra: Result[] = [], outcome: Outcome = 'answered'): void {
    this.open.delete(req.id);
    this.tracker.finish(req.id);
    for (const childId of req.state.outstanding.keys()) this.tracker.finish(childId);
    this.hooks.complete(req, [...req.state.results, ...extra], outcome);
  }

  close(): void {
    this.open.clear();
  }

  private completeIfDone(req: Request<Gather>): void {
    if (req.state.outstanding.size === 0 && this.open.has(req.id)) this.finish(req);
  }

  private expired(req: Request<Gather>): void {
    if (!this.open.has(req.id)) return;
    this.log.warn({ reqid: req.id, kind: req.state.kind, waitingFor: [...req.state.outstanding.values()] }, `request ${req.id} timed out`);
    this.finish(req, [failure(req.id, REQUEST_TIMED_OUT)], 'timeout');
  }
}
