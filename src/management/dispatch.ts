/**
 * Turns data messages into typed handler calls: events, requests served
 * (handler gets the reqid and the arguments) and responses awaited (handler
 * gets the reqid and the Results). A dispatcher is told the APIs it speaks:
 * their events without a handler are ignored (our own responses and
 * notifications may come back from a peer that subscribes broadly).
 * Anything else that is not a known, well-formed event is reported through
 * `onInvalid` (logged and answered by the caller), never thrown into the
 * endpoint; a request among them names its reqid, so it can be answered.
 * A request id longer than the limit is refused before anything stores or
 * logs it, and never echoed back.
 */
import { decodeEvent, DecodeError, type Delivery, type PeerInfo, type ZeekEvent } from '../protocol/index.js';
import type { Authorizer } from './access.js';
import type { Api } from './api.js';
import type { EventSpec, RequestKind, RequestSpec } from './events.js';
import type { Result } from './types.js';
import { DEFAULT_REQID_LENGTH } from './limits.js';
import { truncate } from './log-line.js';

export type EventHandler<A extends readonly unknown[]> = (args: A, from: PeerInfo) => void;

export interface InvalidEvent {
  from: PeerInfo;
  topic: string;
  /** The event name, when the message was an event at all. */
  event?: string;
  error: string;
  /** A served request with a readable reqid: answer it with `spec.fail(reqid, …)`. */
  request?: { spec: RequestKind; reqid: string };
  /** Well-formed, but the session may not ask it (`error` says why); nothing was served. */
  denied?: true;
}

/** `decode` reads an event's arguments (throwing DecodeError) into the handler call to make. */
interface Entry { decode: (event: ZeekEvent) => (from: PeerInfo) => void; served?: RequestKind }

export class EventDispatcher {
  private readonly handlers = new Map<string, Entry>();
  private readonly known = new Set<string>();

  private readonly maxReqidLength: number;

  /** `authorize` is asked before any request is served; a refusal goes to `onInvalid` with `denied`. */
  constructor(speaks: readonly Api[], private readonly onInvalid: (problem: InvalidEvent) => void, private readonly authorize: Authorizer,
    options: { maxReqidLength?: number } = {}) {
    this.maxReqidLength = options.maxReqidLength ?? DEFAULT_REQID_LENGTH;
    for (const api of speaks) {
      for (const spec of Object.values(api)) {
        if ('requestName' in spec) this.known.add(spec.requestName).add(spec.responseName);
        else this.known.add(spec.name);
      }
    }
  }

  on<A extends readonly unknown[]>(spec: EventSpec<A>, handler: EventHandler<A>): this {
    this.handlers.set(spec.name, {
      decode: (event) => {
        const args = spec.decode(event);
        return (from) => handler(args, from);
      },
    });
    return this;
  }

  /** Serves a request: the handler answers it (with `spec.respond`) when it can. */
  serve<A extends readonly unknown[], R>(spec: RequestSpec<A, R>, handler: (reqid: string, args: A, from: PeerInfo) => void): this {
    this.handlers.set(spec.requestName, {
      served: spec,
      decode: (event) => {
        const [reqid, ...args] = spec.request.decode(event);
        this.checkReqid(reqid);
        return (from) => handler(reqid, args as unknown as A, from);
      },
    });
    return this;
  }

  /** Takes the responses to requests of this kind that we send. */
  answers(spec: RequestKind, handler: (reqid: string, results: Result[], from: PeerInfo) => void): this {
    this.handlers.set(spec.responseName, {
      decode: (event) => {
        const [reqid, results] = spec.decodeResponse(event);
        this.checkReqid(reqid);
        return (from) => handler(reqid, results, from);
      },
    });
    return this;
  }

  readonly handle = (delivery: Delivery): void => {
    const { from, topic } = delivery;
    let event: ZeekEvent;
    try {
      event = decodeEvent(delivery.value);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.onInvalid({ from, topic: clip(topic), error: err.message });
      return;
    }
    const entry = this.handlers.get(event.name);
    // Names and topics are the sender's: an error text quotes at most the start of them.
    const name = clip(event.name);
    if (!entry) {
      if (!this.known.has(event.name)) this.onInvalid({ from, topic: clip(topic), event: name, error: `unknown event ${name}` });
      return;
    }
    // A refused or undecodable request is answered (so its client does not wait) when its id is a string within the limit.
    const first = event.args[0];
    const request = entry.served && first?.type === 'string' && first.value.length <= this.maxReqidLength
      ? { request: { spec: entry.served, reqid: first.value } } : {};
    if (entry.served) {
      const denied = this.authorize(entry.served, from);
      if (denied !== undefined) {
        this.onInvalid({ from, topic: clip(topic), event: name, error: denied, denied: true, ...request });
        return;
      }
    }
    let call: (from: PeerInfo) => void;
    try {
      call = entry.decode(event);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.onInvalid({ from, topic: clip(topic), event: name, error: `${name}: ${err.message}`, ...request });
      return;
    }
    call(from);
  };

  private checkReqid(reqid: string): void {
    if (reqid.length > this.maxReqidLength) {
      throw new DecodeError('args[0]', `request id of ${reqid.length} characters exceeds the limit of ${this.maxReqidLength}`);
    }
  }
}

/** What an error text quotes of a name or topic the sender chose. */
const clip = (text: string): string => truncate(text, 200);
