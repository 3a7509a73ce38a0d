/**
 * The accepting side: an HTTP (or HTTPS) server that upgrades
 * `/v1/messages/json` to a WebSocket (any other path is 404), admits the
 * session (Origin, client certificate, bearer token or shared-key proof,
 * then the owner's verdict), waits for the client's handshake, acks it and
 * hands the session to its host (the endpoint). Other paths go to the
 * listener's HTTP router, when it has one (http-router.ts), else 404; the
 * router's authorisation hook is asked before an upgrade too. Connections
 * per remote address are bounded.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from './ws.js';
import { KeyProof, type Admission, type Admit, type Credentials, type SharedKey } from './admission.js';
import { requestCredentials } from './credentials.js';
import { BROWSER_PROTOCOL, decodeHandshake, encodeAck, encodeError, ErrorCode, WS_PATH } from './envelope.js';
import { DecodeError } from './errors.js';
import { frameSize } from './limits.js';
import { sendText, type HttpRouter } from './http-router.js';
import type { SessionHost, SessionOptions } from './session.js';
import { serverTlsOptions, type ServerTls } from './tls-options.js';
import { topicMatches } from './topics.js';

export interface ListenOptions extends SessionOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** A label for logs, e.g. `clients` or `agents`. */
  name?: string;
  /**
   * Topic prefixes that peers accepted here may publish on; anything else is
   * refused with an error. Default: any topic. Keeps, e.g., clients from
   * speaking for agents on a shared endpoint. An admission may narrow it.
   */
  publishTopics?: string[];
  /** TLS: read at start and again at `reloadTls()`. Client certificates are asked for when it has a CA. */
  tls?: () => ServerTls;
  /** Decides who a session is; without it every session is admitted with no principal. */
  admit?: Admit;
  /** Shared keys a dialler may prove (by id); an unknown id is refused. */
  keyFor?: (id: string) => SharedKey | undefined;
  /**
   * Browser origins allowed besides same-origin on an address (zeek-client
   * sends `Origin: http://<host:port it dialled>`). A handshake with any
   * other Origin is refused: a web page may not drive this listener.
   */
  allowedOrigins?: readonly string[];
  /** Plain HTTP routes served beside the WebSocket path, and the authorisation hook for both. */
  router?: HttpRouter;
  /**
   * Topic prefixes that peers accepted here may receive: a handshake's
   * subscriptions are narrowed to them (a subscription to everything becomes
   * a subscription to these). Default: any topic. Keeps, e.g., a session on
   * the agents' port from hearing what is meant for clients.
   */
  subscribeTopics?: string[];
}

/** `wanted` narrowed to what lies within `allowed`: kept where inside it, replaced by the allowed prefixes it covers. */
export function narrowTopics(wanted: readonly string[], allowed: readonly string[]): string[] {
  const out = new Set<string>();
  for (const w of wanted) {
    if (allowed.some((a) => w.startsWith(a))) out.add(w);
    else for (const a of allowed) if (a.startsWith(w)) out.add(a);
  }
  return [...out];
}

/** A shared-key challenge in flight for one upgrade request. */
interface Challenge { shared: SharedKey; diallerNonce: string; listenerNonce: string }

/** `admission`: the verdict, when no key proof is awaited. */
interface Pending { credentials: Credentials; challenge?: Challenge; admission?: Admission }

export class Listener {
  private http: Server | HttpsServer | undefined;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<Socket>();
  /** Headers to add to the 101 answer of an upgrade request (the listener's key proof). */
  private readonly extraHeaders = new WeakMap<IncomingMessage, string[]>();
  /** Open connections by remote address, against `maxConnectionsPerAddress`. */
  private readonly perAddress = new Map<string, number>();
  /** Addresses refused since they last were under the limit (one log line each). */
  private readonly refusing = new Set<string>();

  constructor(private readonly host: SessionHost, private readonly options: ListenOptions) {
    this.wss = new WebSocketServer({
      noServer: true, maxPayload: host.maxFrameBytes * 2,
      // A browser cannot set Authorization: it offers `zeek-mgmt` and `bearer.<token>` as subprotocols, and must get one back.
      handleProtocols: (offered) => (offered.has(BROWSER_PROTOCOL) ? BROWSER_PROTOCOL : false),
    });
    this.wss.on('headers', (headers, req) => {
      const extra = this.extraHeaders.get(req);
      if (extra) headers.push(...extra);
    });
  }

  get secure(): boolean {
    return this.options.tls !== undefined;
  }

  async start(): Promise<{ host: string; port: number }> {
    const routes: RequestListener = (req, res) => {
      if (this.options.router?.handle(req, res, this.host.log)) return;
      sendText(res, 404, `not found; WebSocket clients connect to ${WS_PATH}\n`);
    };
    // https (and tls) only when asked for: a plaintext daemon never loads them.
    const http = this.options.tls
      ? (await import('node:https')).createServer(serverTlsOptions(this.options.tls()), routes)
      : createServer(routes);
    this.http = http;
    http.on('connection', (s: Socket) => this.track(s));
    // A TLS handshake that fails (wrong CA, expired, plaintext on a TLS port) never reaches the upgrade.
    http.on('tlsClientError', (err: Error & { code?: string }, s: TLSSocket) => {
      this.host.log.warn({ listener: this.options.name, remoteAddress: s.remoteAddress, code: err.code, err: err.message }, 'TLS handshake failed');
    });
    http.on('upgrade', (req, socket, head) => this.upgrade(req, socket as Socket, head));
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      http.once('error', onError);
      http.listen(this.options.port, this.options.host, () => {
        http.off('error', onError);
        http.on('error', (err) => this.host.log.error({ err }, 'listener error'));
        const addr = http.address();
        const port = typeof addr === 'object' && addr ? addr.port : this.options.port;
        this.host.log.info({ listener: this.options.name, host: this.options.host, port, tls: this.secure }, 'listening');
        resolve({ host: this.options.host, port });
      });
    });
  }

  /** Reads the TLS material again (new certificates for new sessions; established ones stay). */
  reloadTls(): void {
    if (!this.options.tls || !this.http) return;
    (this.http as HttpsServer).setSecureContext(serverTlsOptions(this.options.tls()));
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    const http = this.http;
    if (!http) return;
    await new Promise<void>((resolve) => {
      http.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  /** Takes a new TCP connection, unless its address has too many open already. */
  private track(s: Socket): void {
    const address = s.remoteAddress ?? '';
    const open = this.perAddress.get(address) ?? 0;
    const limit = this.host.limits.maxConnectionsPerAddress;
    if (open >= limit) {
      if (!this.refusing.has(address)) {
        this.refusing.add(address);
        this.host.log.warn({ listener: this.options.name, remoteAddress: address, limit },
          `refusing connections from ${address}: it has ${open} open, the limit per address (more are refused without a line each)`);
      }
      s.destroy();
      return;
    }
    this.perAddress.set(address, open + 1);
    this.sockets.add(s);
    s.once('close', () => {
      this.sockets.delete(s);
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
      this.refusing.delete(address);
    });
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const verdict = this.options.router?.check(req, 'websocket');
    if (verdict && !verdict.ok) {
      const headers = Object.entries(verdict.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      const body = `${verdict.message}\n`;
      socket.end(`HTTP/1.1 ${verdict.status} ${STATUS_CODES[verdict.status] ?? 'Refused'}\r\nConnection: close\r\n${headers}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    const pending = this.credentials(req, socket);
    if (!pending.ok) {
      this.refuseUpgrade(req, socket, pending.status, pending.error);
      return;
    }
    const { challenge } = pending.value;
    let admission: Admission | undefined;
    if (challenge) {
      this.extraHeaders.set(req, [
        `${KeyProof.nonceHeader}: ${challenge.listenerNonce}`,
        `${KeyProof.proofHeader}: ${KeyProof.proof(challenge.shared, challenge.shared.self, challenge.diallerNonce, challenge.listenerNonce)}`,
      ]);
    } else {
      // Without a key to prove, the verdict is known now: refuse in HTTP, before any WebSocket.
      admission = this.admit(pending.value.credentials);
      if (!admission.ok) {
        this.refuseUpgrade(req, socket, 403, admission.error);
        return;
      }
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.awaitHandshake(ws, req, { ...pending.value, ...(admission ? { admission } : {}) }));
  }

  /** What the request and its connection prove; refusals that need no WebSocket. */
  private credentials(req: IncomingMessage, socket: Socket): { ok: true; value: Pending } | { ok: false; status: number; error: string } {
    const gathered = requestCredentials(req, socket, this.options.allowedOrigins ?? []);
    if (!gathered.ok) return gathered;
    const c = gathered.credentials;
    const id = req.headers[KeyProof.idHeader];
    if (id === undefined) return { ok: true, value: { credentials: c } };
    const diallerNonce = req.headers[KeyProof.nonceHeader];
    if (typeof id !== 'string' || typeof diallerNonce !== 'string' || !/^[\w-]{16,128}$/.test(diallerNonce)) {
      return { ok: false, status: 401, error: `a key proof needs one ${KeyProof.idHeader} and one ${KeyProof.nonceHeader} header` };
    }
    const shared = this.options.keyFor?.(id);
    if (!shared) return { ok: false, status: 403, error: `no shared key for ${JSON.stringify(id.slice(0, 100))} here` };
    return { ok: true, value: { credentials: c, challenge: { shared, diallerNonce, listenerNonce: KeyProof.nonce() } } };
  }

  private admit(credentials: Credentials): Admission {
    return this.options.admit ? this.options.admit(credentials) : { ok: true, principal: '' };
  }

  private refuseUpgrade(req: IncomingMessage, socket: Socket, status: number, error: string): void {
    this.host.log.warn({ listener: this.options.name, remoteAddress: socket.remoteAddress, status, origin: req.headers.origin, error }, 'session refused');
    const body = `${error}\n`;
    const reason = status === 401 ? 'Unauthorized' : 'Forbidden';
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }

  private awaitHandshake(ws: WebSocket, req: IncomingMessage, pending: Pending): void {
    const remoteAddress = req.socket.remoteAddress ?? '';
    const remotePort = req.socket.remotePort ?? 0;
    const fail = (code: string, context: string): void => {
      this.host.log.warn({ remoteAddress, remotePort, code, context }, 'handshake failed');
      ws.send(encodeError(code, context), () => ws.close(1008, code));
    };
    const timer = setTimeout(() => fail(ErrorCode.handshakeTimeout, `no handshake within ${this.host.handshakeTimeoutMs} ms`), this.host.handshakeTimeoutMs);
    ws.on('error', (err) => this.host.log.debug({ err: err.message, remoteAddress }, 'socket error'));
    ws.once('close', () => clearTimeout(timer));
    let admission = pending.admission;
    const onMessage = (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void => {
      try {
        if (isBinary) throw new DecodeError('', 'handshake must be a JSON text frame');
        const size = frameSize(data);
        if (size > this.host.maxFrameBytes) throw new DecodeError('', `handshake of ${size} bytes exceeds the frame limit of ${this.host.maxFrameBytes} bytes`);
        if (admission === undefined) {
          admission = this.proven(data.toString(), pending);
          if (!admission.ok) {
            clearTimeout(timer);
            fail(ErrorCode.invalidHandshake, admission.error);
            return;
          }
          ws.once('message', onMessage);
          return;
        }
        clearTimeout(timer);
        let topics = decodeHandshake(data.toString(), this.host.limits);
        const admitted = admission as Extract<Admission, { ok: true }>;
        const outside = admitted.maySubscribe ? topics.find((t) => !topicMatches(admitted.maySubscribe!, t)) : undefined;
        if (outside !== undefined) {
          fail(ErrorCode.invalidHandshake, `subscribing to ${JSON.stringify(outside)} is not allowed for this session`);
          return;
        }
        if (this.options.subscribeTopics) topics = narrowTopics(topics, this.options.subscribeTopics);
        const { id, version } = this.host.acknowledge();
        ws.send(encodeAck(id, version));
        // What the session may publish: the admission's grant within the listener's own limit (never wider than either).
        const [granted, limit] = [admitted.mayPublish, this.options.publishTopics];
        const publish = granted && limit ? narrowTopics(granted, limit) : granted ?? limit;
        this.host.attach({
          id, direction: 'inbound', remoteAddress, remotePort, subscriptions: topics, principal: admitted.principal,
          ...(publish ? { mayPublish: publish } : {}),
        }, ws, this.options);
      } catch (err) {
        // Whatever a peer sends ends its handshake, never the process.
        clearTimeout(timer);
        fail(ErrorCode.invalidHandshake, err instanceof DecodeError ? err.message : `the handshake could not be read: ${(err as Error).message}`);
      }
    };
    ws.once('message', onMessage);
  }

  /** Checks the dialler's key-proof frame; the session's admission, or why it is refused. */
  private proven(text: string, pending: Pending): Admission {
    const ch = pending.challenge!;
    let proof: unknown;
    try {
      const frame = JSON.parse(text) as { type?: unknown; proof?: unknown };
      proof = frame.type === KeyProof.frameType ? frame.proof : undefined;
    } catch {
      proof = undefined;
    }
    if (typeof proof !== 'string') return { ok: false, error: `expected the key proof for ${ch.shared.id} as the first message` };
    if (!KeyProof.same(proof, KeyProof.proof(ch.shared, ch.shared.peer, ch.diallerNonce, ch.listenerNonce))) {
      this.host.log.warn({ listener: this.options.name, keyId: ch.shared.id, remoteAddress: pending.credentials.remoteAddress }, 'wrong key proof');
      return { ok: false, error: `wrong proof of the key for ${ch.shared.id}` };
    }
    return this.admit({ ...pending.credentials, keyId: ch.shared.id });
  }
}
