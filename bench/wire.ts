/**
 * The bench process's side of every measurement: one bare `ws` client that
 * speaks just enough of Broker's WebSocket JSON (handshake, then text
 * frames) to talk to the controller and to the floor server alike, so the
 * client-side cost is identical for product and floor.
 */
import WebSocket from 'ws';

export interface WireClient {
  /** Sends pre-encoded text; resolves with the first message text containing `match`. */
  request(text: string, match: string, timeoutMs?: number): Promise<string>;
  /** Every message received (for notifications). */
  onMessage(fn: (text: string) => void): void;
  close(): void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function openOnce(url: string, topics: string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const fail = (err: Error): void => { ws.terminate(); reject(err); };
    ws.once('error', fail);
    ws.once('open', () => ws.send(JSON.stringify(topics)));
    ws.once('message', (data) => {
      ws.off('error', fail);
      const text = data.toString();
      if (!text.includes('"ack"')) fail(new Error(`handshake refused by ${url}: ${text}`));
      else resolve(ws);
    });
  });
}

/** Connects (retrying while the server starts, up to `timeoutMs`) and completes the handshake. */
export async function connectWire(port: number, path: string, topics: string[], timeoutMs = 15000): Promise<WireClient> {
  const url = `ws://127.0.0.1:${port}${path}`;
  const until = Date.now() + timeoutMs;
  let ws: WebSocket | undefined;
  for (;;) {
    try {
      ws = await openOnce(url, topics);
      break;
    } catch (err) {
      if (Date.now() > until) throw new Error(`cannot connect to ${url}: ${(err as Error).message}`);
      await sleep(50);
    }
  }
  const socket = ws;
  const waiters = new Set<(text: string) => boolean>();
  const listeners: ((text: string) => void)[] = [];
  socket.on('error', () => undefined);
  socket.on('message', (data) => {
    const text = data.toString();
    for (const w of waiters) if (w(text)) waiters.delete(w);
    for (const l of listeners) l(text);
  });
  return {
    request(text, match, timeout = 30000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { waiters.delete(waiter); reject(new Error(`no answer containing ${match} within ${timeout} ms`)); }, timeout);
        const waiter = (t: string): boolean => {
          if (!t.includes(match)) return false;
          clearTimeout(timer);
          resolve(t);
          return true;
        };
        waiters.add(waiter);
        socket.send(text);
      });
    },
    onMessage: (fn) => { listeners.push(fn); },
    close: () => socket.terminate(),
  };
}
