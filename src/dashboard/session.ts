/**
 * The page's session with the controller: the same public API every client
 * speaks, Broker's WebSocket JSON at `/v1/messages/json` on the page's own
 * host and port. The handshake subscribes to the controller topic; requests
 * carry a fresh reqid and are matched with their responses; every other
 * event on the topic (the forwarded notifications) goes to `onEvent`. A lost
 * session is opened again, 0.5 s to 5 s apart.
 *
 * `openSocket` is the one place the WebSocket is opened, with the page's
 * credentials: on loopback an anonymous session is an operator; elsewhere, or
 * under --require-auth, the page offers a bearer token as the `bearer.<token>`
 * subprotocol (a browser cannot set an Authorization header). The token comes
 * from the address's fragment (`#token=…`, which a browser never sends to a
 * server) or from the sign-in field, and is kept in this tab's
 * sessionStorage only.
 */
import { TOPIC_CONTROLLER } from '../management/api.js';
import type { RequestSpec } from '../management/events.js';
import { BROWSER_PROTOCOL, WS_PATH, decodeMessage, encodeData } from '../protocol/envelope.js';
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

const TOKEN_KEY = 'zeek-mgmt-token';

/**
 * The token the page offers, if any. A `#token=…` in the address is taken
 * (an empty one forgets the token), kept for this tab and removed from the
 * address bar, so that it is neither bookmarked nor shown.
 */
export function pageToken(): string | undefined {
  const m = /(?:^#|&)token=([^&]*)/.exec(window.location.hash);
  if (m) {
    let given = '';
    try {
      given = decodeURIComponent(m[1]!);
    } catch {
      // not valid percent-encoding: taken as no token
    }
    rememberToken(given);
    history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  return window.sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/** Keeps `token` for this tab (an empty one forgets it). */
export function rememberToken(token: string): void {
  if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
  else window.sessionStorage.removeItem(TOKEN_KEY);
}

/** Opens the page's WebSocket to the controller that served it, offering the token when there is one. */
export function openSocket(page: Location, token = pageToken()): WebSocket {
  const scheme = page.protocol === 'https:' ? 'wss:' : 'ws:';
  return new WebSocket(`${scheme}//${page.host}${WS_PATH}`, token ? [BROWSER_PROTOCOL, `bearer.${token}`] : []);
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
    const token = pageToken();
    let ws: WebSocket;
    try {
      ws = openSocket(this.page, token);
    } catch {
      // A browser sends only HTTP token characters in a subprotocol (no '/', '=', ',', spaces, …): it refuses to open at all.
      rememberToken('');
      this.handlers.onLink({ state: 'closed', why: 'a browser cannot send this token (it has characters such as / or = that a WebSocket subprotocol may not hold); sign in with a token of letters, digits and -._~ (openssl rand -hex 24)' });
      return;
    }
    this.socket = ws;
    this.acked = false;
    // A browser does not tell why a handshake failed (a refused token and a stopped controller look alike).
    const unanswered = token
      ? 'the controller cannot be reached or refused the token'
      : 'the controller cannot be reached, or wants a token (sign in)';
    ws.onopen = () => ws.send(JSON.stringify([TOPIC_CONTROLLER]));
    ws.onmessage = (m) => this.received(typeof m.data === 'string' ? m.data : '');
    ws.onclose = (e) => this.lost(e.reason || (this.acked ? 'the controller closed the session' : unanswered));
  }

  /** Opens a new session at once (after the token changed): the current one, if any, ends. */
  reopen(): void {
    clearTimeout(this.retryTimer);
    const old = this.socket;
    this.socket = undefined;
    if (old) {
      old.onclose = null;
      old.close();
      for (const p of [...this.pending.values()]) p.settle('the session ended: signing in again');
    }
    this.retryMs = RETRY_MIN_MS;
    this.open();
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
