/**
 * Turns data messages into typed event handler calls. Anything that is not a
 * known, well-formed event is reported through `onInvalid` (logged and
 * answered by the caller), never thrown into the endpoint.
 */
import { decodeEvent, DecodeError, type Delivery, type PeerInfo, type Value, type ZeekEvent } from '../protocol/index.js';
import type { EventSpec } from './events.js';

export type EventHandler<A extends readonly unknown[]> = (args: A, from: PeerInfo) => void;

interface Entry { spec: EventSpec<readonly unknown[]>; handler: EventHandler<readonly unknown[]> }

export interface InvalidEvent {
  from: PeerInfo;
  topic: string;
  /** The event name, when the message was an event at all. */
  event?: string;
  /** The event's raw arguments, when it was an event (e.g. to read a reqid and answer). */
  args?: readonly Value[];
  error: string;
}

export class EventDispatcher {
  private readonly handlers = new Map<string, Entry>();

  constructor(private readonly onInvalid: (problem: InvalidEvent) => void) {}

  on<A extends readonly unknown[]>(spec: EventSpec<A>, handler: EventHandler<A>): this {
    this.handlers.set(spec.name, { spec, handler: handler as EventHandler<readonly unknown[]> });
    return this;
  }

  /** Names this dispatcher answers to, and also events it deliberately ignores. */
  ignore(...names: string[]): this {
    for (const name of names) this.handlers.set(name, { spec: { name, make: () => ({ name, args: [] }), decode: () => [] }, handler: () => undefined });
    return this;
  }

  readonly handle = (delivery: Delivery): void => {
    let event: ZeekEvent;
    try {
      event = decodeEvent(delivery.value);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.onInvalid({ from: delivery.from, topic: delivery.topic, error: err.message });
      return;
    }
    const entry = this.handlers.get(event.name);
    if (!entry) {
      this.onInvalid({ from: delivery.from, topic: delivery.topic, event: event.name, args: event.args, error: `unknown event ${event.name}` });
      return;
    }
    let args: readonly unknown[];
    try {
      args = entry.spec.decode(event);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.onInvalid({ from: delivery.from, topic: delivery.topic, event: event.name, args: event.args, error: `${event.name}: ${err.message}` });
      return;
    }
    entry.handler(args, delivery.from);
  };
}
