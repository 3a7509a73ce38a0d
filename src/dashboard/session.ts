/**
 * The page's session with the controller: the same public API every client
 * speaks, Broker's WebSocket JSON at `/v1/messages/json` on the page's own
 * host and port. The handshake subscribes to the controller topic; requests
 * carry a fresh reqid and are matched with their responses; every other
 * event on the topic (the forwarded notifications) goes to `onEvent`. A lost
 * session is opened again, 0.5 s to 5 s apart.
 *
 * `openSocket` is the one place the WebSocket is opened: credentials (a
 * bearer token) go there once the controller asks for them.
 */
import { TOPIC_CONTROLLER } from '../management/api.js';
import type { RequestSpec } from '../management/events.js';
import { WS_PATH, decodeMessage, encodeData } from '../protocol/envelope.js';
import { decodeEvent, encodeEvent, type ZeekEvent } from '../protocol/event.js';
import type { Outcome } from '../protocol/errors.js';

/** How long a request may take; a deploy waits for every node, so this is generous. */
const REQUEST_TIMEOUT_MS = 120_000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5000;

export type Link = { state: 'connecting' } | { state: 'open'; endpoint: string } | { state: 'closed'; why: string };

export interface SessionHandlers {
  onLink(link: Link): void;
  onEvent(event: ZeekEvent): void;
}

/** Opens the page's WebSocket to the controller that served it. */
export function openSocket(page: Location): WebSocket {
  const scheme = page.protocol === 'https:' ? 'wss:' : 'ws:';
  return new WebSocket(`${scheme}//${page.host}${WS_PATH}`);
}

interface Pending { responseName: string; settle: (event: ZeekEvent | string) => void; timer: number }

export class Session {
  private socket: WebSocket | undefined;
  private acked = false;
  private readonly pending = new Map<string, Pending>();
  private serial = 0;
  private readonly prefix = Math.random().toString(36).slice(2, 10);
  private retryMs = RETRY_MIN_MS;
  private retryTimer: number | undefined;
  private closed = false;

  constructor(private readonly page: Location, private readonly handlers: SessionHandlers) {}

  open(): void {
    this.closed = false;
    this.handlers.onLink({ state: 'connecting' });
    const ws = openSocket(this.page);
    this.socket = ws;
    this.acked = false;
    ws.onopen = () => ws.send(JSON.stringify([TOPIC_CONTROLLER]));
    ws.onmessage = (m) => this.received(typeof m.data === 'string' ? m.data : '');
    ws.onclose = (e) => this.lost(e.reason || (this.acked ? 'the controller closed the session' : 'the controller cannot be reached'));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.socket?.close();
  }

  /** Sends a request and waits for its response (or the session's loss, or the timeout). */
  request<A extends readonly unknown[], R>(spec: RequestSpec<A, R>, ...args: A): Promise<Outcome<R>> {
    const ws = this.socket;
    if (!ws || !this.acked) return Promise.resolve({ ok: false, error: 'not connected to the controller' });
    const reqid = `dashboard-${this.prefix}-${++this.serial}`;
    return new Promise((resolve) => {
      const timer = window.setTimeout(() => settle(`no response within ${REQUEST_TIMEOUT_MS / 1000} s`), REQUEST_TIMEOUT_MS);
      const settle = (answer: ZeekEvent | string): void => {
        clearTimeout(timer);
        this.pending.delete(reqid);
        if (typeof answer === 'string') return resolve({ ok: false, error: answer });
        try {
          resolve({ ok: true, value: spec.response.decode(answer)[1] });
        } catch (err) {
          resolve({ ok: false, error: `malformed ${spec.responseName}: ${(err as Error).message}` });
        }
      };
      this.pending.set(reqid, { responseName: spec.responseName, settle, timer });
      ws.send(encodeData(TOPIC_CONTROLLER, encodeEvent(spec.request.make(reqid, ...args))));
    });
  }

  private received(text: string): void {
    let message;
    try {
      message = decodeMessage(text);
    } catch {
      return;
    }
    if (message.type === 'ack') {
      this.acked = true;
      this.retryMs = RETRY_MIN_MS;
      this.handlers.onLink({ state: 'open', endpoint: message.endpoint });
      return;
    }
    if (message.type === 'error' && !this.acked) {
      this.socket?.close(1000, `${message.code}: ${message.context}`);
      return;
    }
    if (message.type !== 'data-message') return;
    let event: ZeekEvent;
    try {
      event = decodeEvent(message.value);
    } catch {
      return;
    }
    const reqid = event.args[0]?.type === 'string' ? event.args[0].value : undefined;
    const waiting = reqid === undefined ? undefined : this.pending.get(reqid);
    if (waiting && waiting.responseName === event.name) waiting.settle(event);
    else if (!event.name.endsWith('_response') && !event.name.endsWith('_request')) this.handlers.onEvent(event);
  }

  private lost(why: string): void {
    this.socket = undefined;
    this.acked = false;
    for (const p of [...this.pending.values()]) p.settle(`the session ended: ${why}`);
    this.handlers.onLink({ state: 'closed', why });
    if (this.closed) return;
    this.retryTimer = window.setTimeout(() => this.open(), this.retryMs);
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }
}
