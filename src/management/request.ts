/**
 * Request tracking shared by the controller and the agents: every request
 * has an id, optional parent (a client request owns the requests it sends
 * to agents), arbitrary state, and a deadline. One timer serves all
 * deadlines. An expired request is removed and its `onTimeout` runs once.
 * Time comes from a Clock, so tests can drive it.
 */
import { randomUUID } from 'node:crypto';

export const REQUEST_TIMED_OUT = 'request timed out';

/** Where a tracker reads the time and sets its one timer. */
export interface Clock {
  now(): number;
  /** Calls `fn` once after `ms` (without keeping the process alive); returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: Date.now,
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

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
  /** From now; the tracker's default when absent. Infinity: no deadline. */
  timeoutMs?: number;
  /** An absolute deadline instead (e.g. a parent's). */
  deadline?: number;
  state: S;
  onTimeout: (req: Request<S>) => void;
}

export class RequestTracker {
  private readonly entries = new Map<string, Entry>();
  private cancelTimer: (() => void) | undefined;
  private armedFor = Infinity;
  /** Ids are this tracker's random prefix and a count: unique, and cheaper than a UUID per request. */
  private readonly idPrefix = randomUUID();
  private count = 0;

  constructor(private readonly defaultTimeoutMs: number, private readonly clock: Clock = systemClock) {}

  create<S>(options: CreateOptions<S>): Request<S> {
    const id = options.id ?? `${this.idPrefix}-${++this.count}`;
    const req: Request<S> = {
      id,
      deadline: options.deadline ?? this.clock.now() + (options.timeoutMs ?? this.defaultTimeoutMs),
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
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.armedFor = Infinity;
    this.entries.clear();
  }

  private arm(at: number): void {
    this.cancelTimer?.();
    this.armedFor = at;
    this.cancelTimer = this.clock.after(Math.max(0, at - this.clock.now()), () => this.expire());
  }

  private expire(): void {
    this.cancelTimer = undefined;
    this.armedFor = Infinity;
    const now = this.clock.now();
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
