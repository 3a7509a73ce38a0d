/**
 * The floor server, run as its own process like the controller: a bare ws
 * server doing the least each product path must do.
 *  /echo    handshake ack, then echoes each message (request round trip, one-shot CLI).
 *  /fanout  handshake ack; each message goes to every /peer socket and the
 *           replies are gathered into one answer (get_nodes across N agents).
 *  /spawn   handshake ack; `{"spawn":N,"reqid":…,"until":…}` stops the previous
 *           batch, then spawns N floor-peer processes (at the agent's concurrency,
 *           see spawnBatch) and answers once every one has connected back (deploy).
 * Prints `listening PORT`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from '../src/protocol/ws.js';
import { mapLimit } from '../src/agent/limit.js';

const PEER_SCRIPT = fileURLToPath(new URL('./floor-peer.js', import.meta.url));
const ACK = JSON.stringify({ type: 'ack', endpoint: 'floor', version: '1' });
const concurrency = Number(process.argv[2] ?? 8);

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
const peers = new Set<WebSocket>();
let gather: { want: number; replies: string[]; client: WebSocket } | undefined;
let batch: ChildProcess[] = [];
let hellosWanted = 0;
let onAllHellos: (() => void) | undefined;
const helloOf = new Map<number, () => void>();

function stopBatch(): Promise<void> {
  const exits = batch.filter((c) => c.exitCode === null && c.signalCode === null)
    .map((c) => new Promise<void>((r) => { c.once('exit', () => r()); c.kill('SIGTERM'); }));
  batch = [];
  return Promise.all(exits).then(() => undefined);
}

/**
 * Spawns n peer processes with at most `concurrency` in flight. `connected`:
 * a slot frees when its process has connected back (bounded starts);
 * `spawned`: as soon as the process exists (bounded spawn calls only).
 */
async function spawnBatch(n: number, until: 'spawned' | 'connected'): Promise<void> {
  await stopBatch();
  const port = (wss.address() as { port: number }).port;
  const all = new Promise<void>((r) => { hellosWanted = n; onAllHellos = r; });
  await mapLimit(Array.from({ length: n }, (_, i) => i), concurrency, (i) => new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [PEER_SCRIPT, String(port), `/node?${i}`, '1'], { detached: true, stdio: 'ignore', env: { ...process.env, CLUSTER_NODE: `floor-${i}` } });
    batch.push(child);
    if (until === 'connected') helloOf.set(i, resolve);
    else child.once('spawn', () => resolve());
    child.once('error', reject);
  }));
  await all;
}

function client(ws: WebSocket, onMessage: (text: string) => void): void {
  let shook = false;
  ws.on('message', (data) => {
    if (!shook) { shook = true; ws.send(ACK); return; }
    onMessage(data.toString());
  });
}

wss.on('connection', (ws, req) => {
  ws.on('error', () => undefined);
  switch (req.url) {
    case '/echo':
      client(ws, (text) => ws.send(text));
      return;
    case '/fanout':
      client(ws, (text) => {
        gather = { want: peers.size, replies: [], client: ws };
        for (const p of peers) p.send(text);
      });
      return;
    case '/spawn':
      client(ws, (text) => {
        const { spawn: n, reqid, until } = JSON.parse(text) as { spawn: number; reqid: string; until?: 'spawned' | 'connected' };
        void spawnBatch(n, until ?? 'spawned').then(() => ws.send(JSON.stringify({ reqid, spawned: n })));
      });
      return;
    case '/peer':
      ws.once('message', () => {
        peers.add(ws);
        ws.on('message', (data) => {
          if (!gather) return;
          gather.replies.push(data.toString());
          if (gather.replies.length === gather.want) {
            const g = gather;
            gather = undefined;
            g.client.send(`[${g.replies.join(',')}]`);
          }
        });
      });
      ws.on('close', () => peers.delete(ws));
      return;
    default:
      if (req.url?.startsWith('/node?')) {
        const i = Number(req.url.slice('/node?'.length));
        ws.once('message', () => {
          helloOf.get(i)?.();
          helloOf.delete(i);
          if (--hellosWanted === 0) onAllHellos?.();
        });
        return;
      }
      ws.close(1008, 'unknown path');
  }
});

wss.on('listening', () => process.stdout.write(`listening ${(wss.address() as { port: number }).port}\n`));
const shutdown = (): void => { void stopBatch().then(() => process.exit(0)); };
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
