/**
 * The WebSocket transport: `ws`, loaded through `require`, and `dial`, the
 * connecting side of Broker's handshake on it (open the socket, send the
 * topic prefixes, wait for the ack), shared by the endpoint's links and the
 * one-shot client. Callers word dial's failures for their readers.
 *
 * Why `require`: ws's ESM entry makes Node translate each of its CommonJS
 * files for ESM, which costs about 20 ms at every process start (import 'ws'
 * +32 ms, require('ws') +13 ms over a bare `node`): felt by every one-shot
 * client command and every simulated node an agent starts. Why dial lives
 * here: a one-shot command loads this and the envelope, never the endpoint.
 */
import { createRequire } from 'node:module';
import { KeyProof, type SharedKey } from './admission.js';
import { decodeMessage } from './envelope.js';
import type WsWebSocket from 'ws';
import type { ClientOptions, WebSocketServer as WsWebSocketServer } from 'ws';

type WsModule = typeof WsWebSocket & { WebSocketServer: typeof WsWebSocketServer };
const ws = createRequire(import.meta.url)('ws') as WsModule;

export const WebSocket = ws;
export type WebSocket = WsWebSocket;
export const WebSocketServer = ws.WebSocketServer;
export type WebSocketServer = WsWebSocketServer;
export type { ClientOptions };
export type { RawData } from 'ws';

export type DialFailure =
  | { kind: 'socket'; error: NodeJS.ErrnoException }
  | { kind: 'no-ack' }
  | { kind: 'closed' }
  | { kind: 'bad-answer'; detail: string }
  | { kind: 'refused'; code: string; context: string }
  | { kind: 'unexpected'; type: string }
  /** The server answered the upgrade with an HTTP error (e.g. 401 without credentials); `detail` is its text. */
  | { kind: 'http'; status: number; detail: string }
  /** We asked the server to prove the shared key and it could not: not the peer we meant to reach. */
  | { kind: 'unproven'; detail: string };

export type DialResult = { ok: true; endpoint: string; version: string } | { ok: false; failure: DialFailure };

export interface DialOptions {
  subscriptions: readonly string[];
  /** From the start until the ack; the socket is dropped after it. */
  ackTimeoutMs: number;
  socket?: ClientOptions;
  /** Prove this shared key, and require the server to prove it first (admission.ts KeyProof). */
  proof?: SharedKey;
}

/** How much of an HTTP error answer to the upgrade is kept for the message. */
const MAX_REFUSAL_TEXT = 512;

/**
 * Dials `url` and calls `done` once: at the ack (synchronously, within its
 * message event, so the caller takes the socket over before any later
 * message is emitted), or once a failed socket has closed. Returns the
 * socket, for the caller to close while dialling.
 */
export function dial(url: string, options: DialOptions, done: (result: DialResult, socket: WebSocket) => void): WebSocket {
  const proof = options.proof;
  const diallerNonce = proof ? KeyProof.nonce() : '';
  const headers = proof ? { ...options.socket?.headers, [KeyProof.idHeader]: proof.id, [KeyProof.nonceHeader]: diallerNonce } : options.socket?.headers;
  const ws = new WebSocket(url, { ...options.socket, ...(headers ? { headers } : {}) });
  let failure: DialFailure | undefined;
  let acked = false;
  let listenerNonce = '';
  const fail = (f: DialFailure): void => {
    failure ??= f;
    ws.terminate();
  };
  const ackTimer = setTimeout(() => fail({ kind: 'no-ack' }), options.ackTimeoutMs);
  ws.on('error', (error: NodeJS.ErrnoException) => { failure ??= { kind: 'socket', error }; });
  ws.once('unexpected-response', (_req, res) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => { if (text.length < MAX_REFUSAL_TEXT) text += chunk; });
    res.once('end', () => fail({ kind: 'http', status: res.statusCode ?? 0, detail: text.trim().slice(0, MAX_REFUSAL_TEXT) || (res.statusMessage ?? '') }));
    res.once('error', () => fail({ kind: 'http', status: res.statusCode ?? 0, detail: res.statusMessage ?? '' }));
  });
  if (proof) {
    ws.once('upgrade', (res) => {
      const nonce = res.headers[KeyProof.nonceHeader];
      const answer = res.headers[KeyProof.proofHeader];
      if (typeof nonce !== 'string' || typeof answer !== 'string') {
        fail({ kind: 'unproven', detail: 'the server did not prove the shared key (is it ours, and does it know this key?)' });
        return;
      }
      if (!KeyProof.same(answer, KeyProof.proof(proof, proof.peer, diallerNonce, nonce))) {
        fail({ kind: 'unproven', detail: `the server's proof of the key for ${proof.id} is wrong: it holds another key` });
        return;
      }
      listenerNonce = nonce;
    });
  }
  ws.once('open', () => {
    if (proof) {
      if (listenerNonce === '') return; // refused in 'upgrade'; the socket is closing
      ws.send(JSON.stringify({ type: KeyProof.frameType, proof: KeyProof.proof(proof, proof.self, diallerNonce, listenerNonce) }));
    }
    ws.send(JSON.stringify(options.subscriptions));
  });
  ws.once('message', (data) => {
    clearTimeout(ackTimer);
    let msg;
    try {
      msg = decodeMessage(data.toString());
    } catch (err) {
      fail({ kind: 'bad-answer', detail: (err as Error).message });
      return;
    }
    if (msg.type === 'ack') {
      acked = true;
      done({ ok: true, endpoint: msg.endpoint, version: msg.version }, ws);
    } else fail(msg.type === 'error' ? { kind: 'refused', code: msg.code, context: msg.context } : { kind: 'unexpected', type: msg.type });
  });
  ws.once('close', () => {
    clearTimeout(ackTimer);
    if (!acked) done({ ok: false, failure: failure ?? { kind: 'closed' } }, ws);
  });
  return ws;
}
