/**
 * The connecting side: dials a server, sends the handshake, waits for the
 * ack and hands the session to the endpoint. When the session drops it dials
 * again with bounded exponential back-off, until closed.
 */
import { EventEmitter } from 'node:events';
import { dial, type DialFailure, type WebSocket } from './ws.js';
import type { SharedKey } from './admission.js';
import { WS_PATH } from './envelope.js';
import { clientTlsOptions, type ClientTls } from './tls-options.js';
import type { PeerInfo } from './peer.js';
import type { SessionHost, SessionOptions } from './session.js';

export interface RetryOptions {
  initialMs: number;
  maxMs: number;
}

export interface LinkOptions extends SessionOptions {
  host: string;
  port: number;
  /** Prefixes to subscribe to in the handshake; the endpoint's local topics by default. */
  subscriptions?: string[];
  /** Topic prefixes the remote side accepts from us (default: everything). */
  remoteTopics?: string[];
  /** `false`: one attempt only. Default: 100 ms doubling up to 5 s. */
  retry?: RetryOptions | false;
  /** How long to wait for the connection and the ack (default 5 s). */
  connectTimeoutMs?: number;
  /** TLS (wss): read at every dial, so new material applies to the next session. */
  tls?: () => ClientTls;
  /** Prove this shared key, and dial only a server that proves it too. */
  proof?: SharedKey;
  /** What the remote side is to us (e.g. `controller`), recorded on the session. */
  principal?: string;
}

export interface LinkEvents {
  up: [PeerInfo];
  down: [PeerInfo | undefined, string];
  closed: [];
}

export class Link extends EventEmitter<LinkEvents> {
  private socket: WebSocket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private closing = false;
  /** A dial was asked for while an attempt was in flight: if it fails, dial again at once. */
  private redial = false;
  private peer: PeerInfo | undefined;
  private readonly retry: RetryOptions | false;
  readonly url: string;

  constructor(private readonly host: SessionHost, private readonly options: LinkOptions) {
    super();
    this.retry = options.retry === undefined ? { initialMs: 100, maxMs: 5000 } : options.retry;
    this.delay = this.retry ? this.retry.initialMs : 0;
    const address = options.host.includes(':') ? `[${options.host}]` : options.host;
    this.url = `${options.tls ? 'wss' : 'ws'}://${address}:${options.port}${WS_PATH}`;
  }

  get connected(): PeerInfo | undefined {
    return this.peer;
  }

  /** Resolves with the first session, rejects if a non-retrying link fails. */
  ready(): Promise<PeerInfo> {
    if (this.peer) return Promise.resolve(this.peer);
    return new Promise((resolve, reject) => {
      const onUp = (info: PeerInfo): void => { this.off('down', onDown); resolve(info); };
      const onDown = (_p: PeerInfo | undefined, reason: string): void => {
        if (this.retry && !this.closing) return;
        this.off('up', onUp);
        reject(new Error(reason));
      };
      this.once('up', onUp);
      this.on('down', onDown);
    });
  }

  start(): void {
    if (this.closing) return;
    const timeoutMs = this.options.connectTimeoutMs ?? 5000;
    const tls = this.options.tls ? clientTlsOptions(this.options.tls()) : {};
    this.socket = dial(this.url, {
      subscriptions: this.options.subscriptions ?? this.host.localTopics(),
      ackTimeoutMs: timeoutMs,
      socket: { maxPayload: this.host.maxFrameBytes * 2, handshakeTimeout: timeoutMs, ...tls },
      ...(this.options.proof ? { proof: this.options.proof } : {}),
    }, (result, ws) => {
      if (result.ok) this.established(ws, result.endpoint);
      else this.ended(undefined, describeFailure(result.failure, this.url));
    });
  }

  /**
   * Dials now instead of waiting out the back-off: a hint that the server may
   * have started listening. A failed attempt backs off as usual.
   */
  dialNow(): void {
    if (this.closing || this.peer || !this.retry) return;
    if (this.socket) {
      this.redial = true;
      return;
    }
    clearTimeout(this.timer);
    this.start();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.timer);
    const ws = this.socket;
    if (ws && ws.readyState !== ws.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        if (ws.readyState === ws.CONNECTING) ws.terminate();
        else ws.close(1000);
        setTimeout(() => ws.terminate(), 1000).unref();
      });
    }
    this.emit('closed');
  }

  private established(ws: WebSocket, endpoint: string): void {
    const sock = (ws as unknown as { _socket?: { remoteAddress?: string; remotePort?: number } })._socket;
    const peer: PeerInfo = {
      id: endpoint,
      direction: 'outbound',
      remoteAddress: sock?.remoteAddress ?? this.options.host,
      remotePort: sock?.remotePort ?? this.options.port,
      subscriptions: this.options.remoteTopics ?? [''],
      ...(this.options.principal === undefined ? {} : { principal: this.options.principal }),
    };
    this.peer = peer;
    this.redial = false;
    const since = Date.now();
    ws.once('close', () => {
      // The back-off restarts only after a session that lasted: a server that
      // refuses us right after the handshake is not redialled four times a second.
      if (this.retry && Date.now() - since >= this.retry.maxMs) this.delay = this.retry.initialMs;
      this.ended(peer, 'connection lost');
    });
    this.host.attach(peer, ws, this.options);
    this.emit('up', peer);
  }

  private ended(lost: PeerInfo | undefined, reason: string): void {
    this.peer = undefined;
    this.socket = undefined;
    this.emit('down', lost, reason);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closing) return;
    if (!this.retry) {
      this.closing = true;
      this.emit('closed');
      return;
    }
    const wait = this.redial ? 0 : this.delay;
    this.redial = false;
    this.delay = Math.min(this.delay * 2, this.retry.maxMs);
    this.timer = setTimeout(() => this.start(), wait);
  }
}

function describeFailure(failure: DialFailure, url: string): string {
  switch (failure.kind) {
    case 'socket': return describeError(failure.error, url);
    case 'no-ack': return 'no ack from server';
    case 'closed': return 'connection closed';
    case 'bad-answer': return `bad handshake answer: ${failure.detail}`;
    case 'refused': return `server refused the handshake: ${failure.code}: ${failure.context}`;
    case 'unexpected': return `expected ack, got ${failure.type}`;
    case 'http': return `server refused the session: ${failure.status} ${failure.detail}`;
    case 'unproven': return `not the peer we meant to reach: ${failure.detail}`;
  }
}

function describeError(err: Error & { code?: string }, url: string): string {
  if (err.code === 'ECONNREFUSED') return `connection refused at ${url}`;
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return `cannot resolve host in ${url}`;
  if (err.code === 'ETIMEDOUT') return `timed out connecting to ${url}`;
  return `${err.message} (${url})`;
}
