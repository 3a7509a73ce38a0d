/**
 * The accepting side: an HTTP server that upgrades `/v1/messages/json` to a
 * WebSocket, waits for the client's handshake, acks it and hands the session
 * to its host (the endpoint). Other paths go to the listener's HTTP router,
 * when it has one (http-router.ts), else 404; the router's authorisation
 * hook is asked before an upgrade too.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from './ws.js';
import { decodeHandshake, encodeAck, encodeError, ErrorCode, WS_PATH } from './envelope.js';
import { DecodeError } from './errors.js';
import { frameSize } from './limits.js';
import type { SessionHost, SessionOptions } from './session.js';
import { sendText, type HttpRouter } from './http-router.js';

export interface ListenOptions extends SessionOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** A label for logs, e.g. `clients` or `agents`. */
  name?: string;
  /**
   * Topic prefixes that peers accepted here may publish on; anything else is
   * refused with an error. Default: any topic. Keeps, e.g., clients from
   * speaking for agents on a shared endpoint.
   */
  publishTopics?: string[];
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

export class Listener {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<Socket>();
  /** Open connections by remote address, against `maxConnectionsPerAddress`. */
  private readonly perAddress = new Map<string, number>();
  /** Addresses refused since they last were under the limit (one log line each). */
  private readonly refusing = new Set<string>();

  constructor(private readonly host: SessionHost, private readonly options: ListenOptions) {
    this.http = createServer((req, res) => {
      if (options.router?.handle(req, res, host.log)) return;
      sendText(res, 404, `not found; WebSocket clients connect to ${WS_PATH}\n`);
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: host.maxFrameBytes * 2 });
    this.http.on('connection', (s: Socket) => this.admit(s));
    this.http.on('upgrade', (req, socket, head) => this.upgrade(req, socket as Socket, head));
  }

  start(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.http.once('error', onError);
      this.http.listen(this.options.port, this.options.host, () => {
        this.http.off('error', onError);
        this.http.on('error', (err) => this.host.log.error({ err }, 'listener error'));
        const addr = this.http.address();
        const port = typeof addr === 'object' && addr ? addr.port : this.options.port;
        this.host.log.info({ listener: this.options.name, host: this.options.host, port }, 'listening');
        resolve({ host: this.options.host, port });
      });
    });
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  /** Takes a new TCP connection, unless its address has too many open already. */
  private admit(s: Socket): void {
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
    this.wss.handleUpgrade(req, socket, head, (ws) => this.awaitHandshake(ws, req));
  }

  private awaitHandshake(ws: WebSocket, req: IncomingMessage): void {
    const remoteAddress = req.socket.remoteAddress ?? '';
    const remotePort = req.socket.remotePort ?? 0;
    const fail = (code: string, context: string): void => {
      this.host.log.warn({ remoteAddress, remotePort, code, context }, 'handshake failed');
      ws.send(encodeError(code, context), () => ws.close(1008, code));
    };
    const timer = setTimeout(() => fail(ErrorCode.handshakeTimeout, `no handshake within ${this.host.handshakeTimeoutMs} ms`), this.host.handshakeTimeoutMs);
    ws.on('error', (err) => this.host.log.debug({ err: err.message, remoteAddress }, 'socket error'));
    ws.once('close', () => clearTimeout(timer));
    ws.once('message', (data, isBinary) => {
      clearTimeout(timer);
      let topics: string[];
      try {
        if (isBinary) throw new DecodeError('', 'handshake must be a JSON text frame');
        const size = frameSize(data);
        if (size > this.host.maxFrameBytes) throw new DecodeError('', `handshake of ${size} bytes exceeds the frame limit of ${this.host.maxFrameBytes} bytes`);
        topics = decodeHandshake(data.toString(), this.host.limits);
      } catch (err) {
        fail(ErrorCode.invalidHandshake, err instanceof DecodeError ? err.message : `the handshake could not be read: ${(err as Error).message}`);
        return;
      }
      if (this.options.subscribeTopics) topics = narrowTopics(topics, this.options.subscribeTopics);
      const { id, version } = this.host.acknowledge();
      ws.send(encodeAck(id, version));
      const mayPublish = this.options.publishTopics ? { mayPublish: this.options.publishTopics } : {};
      this.host.attach({ id, direction: 'inbound', remoteAddress, remotePort, subscriptions: topics, ...mayPublish }, ws, this.options);
    });
  }
}
