/**
 * One client session with the controller: connect and handshake (retrying a
 * refused connection as zeek-client does, `peering_attempts` times), publish
 * request events on the controller topic, and wait for the response with
 * the same reqid until `request_timeout_secs`. Every other event is handed
 * to listeners (progress display, monitor).
 */
import { randomUUID } from 'node:crypto';
import { dial, type ClientOptions, type DialFailure, type WebSocket } from '../protocol/ws.js';
import { decodeMessage, encodeData, WS_PATH } from '../protocol/envelope.js';
import { DecodeError, type Outcome } from '../protocol/errors.js';
import { decodeEvent, encodeEvent, type ZeekEvent } from '../protocol/event.js';
import { TOPIC_CONTROLLER } from '../management/api.js';
import type { RequestSpec } from '../management/events.js';
import type { ClientLog } from './log.js';
import type { ClientSettings } from './settings.js';
import type { Settings } from './settings.js';

export type { Outcome };

type Waiter = (event: ZeekEvent) => boolean;

type Attempt = { ok: true; value: string } | { ok: false; retry: boolean; error: string };

const MAX_UNCLAIMED = 1000;

export class ControllerConnection {
  private socket: WebSocket | undefined;
  private readonly waiters = new Set<Waiter>();
  /** Fail the pending requests with a reason (the server reported an error). */
  private readonly refusals = new Set<(why: string) => void>();
  private readonly listeners = new Set<(event: ZeekEvent) => void>();
  /** Called on every event received: a patient request's deadline starts over. */
  private readonly activity = new Set<() => void>();
  /** Events that arrived before anyone listened (they can follow the ack at once); bounded. */
  private unclaimed: ZeekEvent[] = [];
  private closedReason: string | undefined;
  private onClosed: (() => void)[] = [];
  readonly remote: string;

  constructor(private readonly settings: ClientSettings, private readonly raw: Settings, private readonly log: ClientLog, private readonly env: NodeJS.ProcessEnv = process.env) {
    this.remote = `${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${settings.port}`;
  }

  get url(): string {
    return `${this.settings.ssl ? 'wss' : 'ws'}://${this.remote}${WS_PATH}`;
  }

  /** Connects and completes the Broker handshake; the error says where it tried and why it failed. */
  async connect(): Promise<Outcome<string>> {
    this.log.info(`connecting to controller ${this.remote}`);
    let lastRefusal = '';
    for (let attempt = 1; attempt <= this.settings.peeringAttempts; attempt += 1) {
      const r = await this.attempt();
      if (r.ok) {
        this.log.info(`peered with controller ${this.remote}`);
        return r;
      }
      if (!r.retry) return { ok: false, error: r.error };
      lastRefusal = r.error;
      this.log.debug(`${r.error} (attempt ${attempt} of ${this.settings.peeringAttempts})`);
      if (attempt < this.settings.peeringAttempts) await sleep(this.settings.retryDelayMs);
    }
    return {
      ok: false,
      error: `cannot reach the controller at ${this.url}: ${lastRefusal} after ${this.settings.peeringAttempts} attempts; ` +
        'is it running there? Point the client at it with --controller HOST:PORT or --set controller.port=PORT',
    };
  }

  /** TLS and credentials, read once per connection (files may be missing: one clear line). */
  private secured: Promise<Outcome<ClientOptions>> | undefined;

  private async attempt(): Promise<Attempt> {
    const timeoutMs = Math.max(this.settings.retryDelayMs, 1000);
    this.secured ??= this.settings.ssl || hasCredentials(this.raw, this.env) ? import('./secure.js').then((m) => m.secureOptions(this.raw, this.env)) : Promise.resolve({ ok: true, value: {} });
    const secured = await this.secured;
    if (!secured.ok) return { ok: false, retry: false, error: `cannot configure connection to ${this.remote}: ${secured.error}` };
    // No permessage-deflate offer: Broker does not compress and zeek-client offers none; building the offer costs every command ~0.5 ms.
    const socket: ClientOptions = { handshakeTimeout: timeoutMs, perMessageDeflate: false, ...secured.value };
    return new Promise((resolve) => {
      dial(this.url, { subscriptions: [TOPIC_CONTROLLER], ackTimeoutMs: timeoutMs * 2, socket }, (result, ws) => {
        if (!result.ok) {
          resolve(this.describe(result.failure));
          return;
        }
        this.attach(ws);
        resolve({ ok: true, value: result.endpoint });
      });
    });
  }

  /** zeek-client's words for a failed handshake, and whether it is worth another attempt. */
  private describe(failure: DialFailure): Attempt {
    const refused = (why: string): Attempt => ({ ok: false, retry: false, error: `controller ${this.remote} refused the handshake: ${why}` });
    switch (failure.kind) {
      case 'socket': {
        const err = failure.error;
        if (this.settings.ssl && isTlsFailure(err)) {
          return { ok: false, retry: false, error: `TLS error with controller ${this.remote}: ${err.message}${err.code ? ` (${err.code})` : ''}; the client trusts the system's CAs plus ssl.cafile/ssl.capath and checks the host name` };
        }
        const retry = err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET' || /timed out/i.test(err.message);
        const why = err.code === 'ECONNREFUSED' ? 'connection refused' : err.message;
        return { ok: false, retry, error: retry ? why : `socket error in connect() with controller ${this.remote}: ${why}` };
      }
      case 'no-ack': return { ok: false, retry: true, error: 'no handshake answer' };
      case 'closed': return { ok: false, retry: true, error: 'connection closed during the handshake' };
      case 'bad-answer': return { ok: false, retry: false, error: `protocol data error with controller ${this.remote}: ${failure.detail}` };
      case 'refused': return refused(`${failure.code}: ${failure.context}`);
      case 'unexpected': return refused(`expected an ack, got ${failure.type}`);
      case 'http': return refused(`${failure.status} ${failure.detail}`);
      case 'unproven': return refused(failure.detail);
    }
  }

  private attach(ws: WebSocket): void {
    this.socket = ws;
    ws.on('message', (data) => this.receive(data.toString()));
    ws.once('close', () => {
      this.closedReason = `connection to controller ${this.remote} closed`;
      for (const f of this.onClosed) f();
      this.onClosed = [];
    });
  }

  private receive(text: string): void {
    let event: ZeekEvent;
    try {
      const msg = decodeMessage(text);
      if (msg.type === 'error') { this.serverError(`${msg.code}: ${msg.context}`); return; }
      if (msg.type !== 'data-message') { this.log.debug(`skipping unexpected received message ${msg.type}`); return; }
      event = decodeEvent(msg.value);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.log.warning(`protocol data error with controller ${this.remote}: ${err.message}`);
      return;
    }
    for (const a of this.activity) a();
    for (const w of [...this.waiters]) if (w(event)) return;
    if (this.listeners.size === 0) {
      if (this.unclaimed.length < MAX_UNCLAIMED) this.unclaimed.push(event);
      return;
    }
    for (const l of this.listeners) l(event);
  }

  /**
   * The server reported an error. While a request waits, the request fails
   * at once with it (the likeliest cause: this is not the controller's
   * client port, and nothing else will come); otherwise it is a warning.
   */
  private serverError(what: string): void {
    if (this.refusals.size === 0) {
      this.log.warning(`controller ${this.remote} reported an error: ${what}`);
      return;
    }
    const hint = /not allowed on this port/.test(what)
      ? `; is ${this.remote} the controller's client port (default 2149)? Agents connect to the controller on another port (2150), and each agent listens on its own (2151)`
      : '';
    for (const refuse of [...this.refusals]) refuse(`${this.remote} refused the request: ${what}${hint}`);
  }

  /** Receives every event that is not a response someone waits for (including those that came before). Returns a remover. */
  onEvent(listener: (event: ZeekEvent) => void): () => void {
    this.listeners.add(listener);
    const earlier = this.unclaimed;
    this.unclaimed = [];
    for (const e of earlier) listener(e);
    return () => this.listeners.delete(listener);
  }

  publish(event: ZeekEvent): void {
    this.socket?.send(encodeData(TOPIC_CONTROLLER, encodeEvent(event)));
  }

  /** Sends a request (a fresh reqid) and waits for its response with that reqid. */
  request<A extends readonly unknown[], R>(spec: RequestSpec<A, R>, ...args: A): Promise<Outcome<R>> {
    return this.send(spec, args, false);
  }

  /**
   * As request(), for a request that takes as long as it takes (a rolling
   * restart): the timeout runs from the last event received, so it waits
   * while the controller reports progress.
   */
  requestPatiently<A extends readonly unknown[], R>(spec: RequestSpec<A, R>, ...args: A): Promise<Outcome<R>> {
    return this.send(spec, args, true);
  }

  private send<A extends readonly unknown[], R>(spec: RequestSpec<A, R>, args: A, patient: boolean): Promise<Outcome<R>> {
    const reqid = randomUUID();
    return new Promise((resolve) => {
      const timedOut = (): void => finish({ ok: false, error: `no response received: websocket connection to ${this.remote} timed out` });
      const renew = (): void => { clearTimeout(timer); timer = setTimeout(timedOut, this.settings.requestTimeoutMs); };
      const finish = (r: Outcome<R>): void => {
        clearTimeout(timer);
        this.activity.delete(renew);
        this.waiters.delete(waiter);
        this.refusals.delete(refused);
        this.onClosed = this.onClosed.filter((f) => f !== closed);
        resolve(r);
      };
      const waiter: Waiter = (event) => {
        if (event.name !== spec.responseName) return false;
        const first = event.args[0];
        if (first?.type !== 'string' || first.value !== reqid) return false;
        try {
          finish({ ok: true, value: spec.response.decode(event)[1] });
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
          finish({ ok: false, error: `no response received: protocol data error with controller ${this.remote}: invalid event data, ${err.message}` });
        }
        return true;
      };
      const closed = (): void => finish({ ok: false, error: `no response received: ${this.closedReason ?? 'connection closed'}` });
      const refused = (why: string): void => finish({ ok: false, error: why });
      let timer = setTimeout(timedOut, this.settings.requestTimeoutMs);
      if (patient) this.activity.add(renew);
      this.waiters.add(waiter);
      this.refusals.add(refused);
      if (this.closedReason !== undefined || !this.socket) { closed(); return; }
      this.onClosed.push(closed);
      this.publish(spec.request.make(reqid, ...args));
    });
  }

  /** Resolves when the connection closes (monitor's lifetime). */
  untilClosed(): Promise<string> {
    if (this.closedReason !== undefined) return Promise.resolve(this.closedReason);
    return new Promise((resolve) => this.onClosed.push(() => resolve(this.closedReason ?? 'connection closed')));
  }

  close(): Promise<void> {
    const ws = this.socket;
    if (!ws || ws.readyState === ws.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      ws.once('close', () => resolve());
      ws.close(1000);
      setTimeout(() => { ws.terminate(); resolve(); }, 500).unref();
    });
  }
}

/** A token to send: `auth.token`, `auth.token_file` or ZEEK_MGMT_TOKEN (secure.ts reads them). */
function hasCredentials(raw: Settings, env: NodeJS.ProcessEnv): boolean {
  return Boolean(raw.get('auth', 'token') || raw.get('auth', 'token_file') || env.ZEEK_MGMT_TOKEN);
}

/** A certificate or TLS protocol failure (not a refused or dropped connection): retrying will not help. */
function isTlsFailure(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? '';
  return /CERT|SELF_SIGNED|ALTNAME|UNABLE_TO|ERR_SSL|ERR_TLS|EPROTO/.test(code) || /SSL|TLS|certificate/i.test(err.message);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
