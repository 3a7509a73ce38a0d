/**
 * Request tracking shared by the controller and the agents: every request
 * has an id, optional parent (a client request owns the requests it sends
 * to agents), arbitrary state, and a deadline. One timer serves all
 * deadlines. An expired request is removed and its `onTimeout` runs once.
 */
import { randomUUID } from 'node:crypto';

export const REQUEST_TIMED_OUT = 'request timed out';

export interface Request<S> {
  readonly id: string;
  readonly parent?: string;
  readonly deadline: number;
  state: S;
}

interface Entry { req: Request<unknown>; onTimeout: (req: Request<unknown>) => void }

export interface CreateOptions<S> {
  id?: string;
  parent?: string;
  timeoutMs?: number;
  state: S;
  onTimeout: (req: Request<S>) => void;
}

export class RequestTracker {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;
  /** Ids are this tracker's random prefix and a count: unique, and cheaper than a UUID per request. */
  private readonly idPrefix = randomUUID();
  private count = 0;

  constructor(private readonly defaultTimeoutMs: number, private readonly now: () => number = Date.now) {}

  create<S>(options: CreateOptions<S>): Request<S> {
    const id = options.id ?? `${this.idPrefix}-${++this.count}`;
    const req: Request<S> = {
      id,
      deadline: this.now() + (options.timeoutMs ?? this.defaultTimeoutMs),
      state: options.state,
      ...(options.parent === undefined ? {} : { parent: options.parent }),
    };
    this.entries.set(id, { req, onTimeout: options.onTimeout as (r: Request<unknown>) => void });
    if (req.deadline < this.armedFor) this.arm(req.deadline);
    return req;
  }

  get<S>(id: string): Request<S> | undefined {
    return this.entries.get(id)?.req as Request<S> | undefined;
  }

  /** Requests whose parent is `parentId`. */
  children<S>(parentId: string): Request<S>[] {
    const out: Request<S>[] = [];
    for (const { req } of this.entries.values()) if (req.parent === parentId) out.push(req as Request<S>);
    return out;
  }

  /** Removes a request (answered or abandoned). Returns it if it was pending. */
  finish<S>(id: string): Request<S> | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.entries.delete(id);
    return entry.req as Request<S>;
  }

  get size(): number {
    return this.entries.size;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
    this.entries.clear();
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.armedFor = at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - this.now()));
    this.timer.unref();
  }

  private expire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.now();
    const due: Entry[] = [];
    let next = Infinity;
    for (const entry of this.entries.values()) {
      if (entry.req.deadline <= now) due.push(entry);
      else next = Math.min(next, entry.req.deadline);
    }
    for (const entry of due) this.entries.delete(entry.req.id);
    if (next < Infinity) this.arm(next);
    for (const entry of due) entry.onTimeout(entry.req);
  }
}
