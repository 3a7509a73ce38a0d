/**
 * A raw WebSocket session on the Broker JSON path, for tests that play a
 * peer we do not trust: it sends what it is told, records every frame it
 * gets and reports the close code. Every socket opened here is ended by
 * terminateRawSessions(), which each test file calls in its cleanup.
 */
import WebSocket from 'ws';
import { WS_PATH } from '../../src/protocol/index.js';
import { eventually } from './process.js';

export interface RawSession { ws: WebSocket; frames: string[]; closed: Promise<number> }

const open = new Set<WebSocket>();

/** Opens a session to 127.0.0.1:`port`; with `handshake`, sends it and waits for the first frame (ack or error). */
export async function rawSession(port: number, handshake?: string, options: WebSocket.ClientOptions = {}): Promise<RawSession> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${WS_PATH}`, options);
  open.add(ws);
  const frames: string[] = [];
  ws.on('message', (d) => frames.push(d.toString()));
  ws.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => { open.delete(ws); resolve(code); }));
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  if (handshake !== undefined) {
    ws.send(handshake);
    await eventually(() => frames.length > 0, 5000, 5);
  }
  return { ws, frames, closed };
}

export function terminateRawSessions(): void {
  for (const ws of open) ws.terminate();
  open.clear();
}
