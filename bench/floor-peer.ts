/**
 * The floor's peer process: opens `count` bare ws connections back to the
 * floor server, says hello on each, echoes whatever it is sent, and prints
 * `connected` once all are open. Loads nothing but ws: the least a Node
 * process that talks over ws can do. Used as the minimal "node" of the
 * deploy floor (count 1) and as the N sockets of the fan-out floor.
 *
 * usage: node floor-peer.js PORT PATH [COUNT]
 */
// ws through require, as the product loads it (src/protocol/ws.ts): the fastest way Node offers.
import { WebSocket } from '../src/protocol/ws.js';

const [portText, path = '/node', countText = '1'] = process.argv.slice(2);
const count = Number(countText);
let open = 0;
for (let i = 0; i < count; i++) {
  const ws = new WebSocket(`ws://127.0.0.1:${portText}${path}`, { perMessageDeflate: false });
  ws.on('open', () => {
    ws.send(`hello ${process.pid}-${i}`);
    if (++open === count) process.stdout.write('connected\n');
  });
  ws.on('message', (data) => ws.send(data.toString()));
  // Never outlive the floor server.
  ws.on('close', () => process.exit(0));
  ws.on('error', (err) => { process.stderr.write(`floor peer: ${err.message}\n`); process.exit(1); });
}
process.on('SIGTERM', () => process.exit(0));
