/**
 * The floor of a one-shot client command: a minimal Node script that
 * connects with ws, does the handshake, sends one message, prints the
 * answer and exits.
 *
 * usage: node floor-oneshot.js PORT
 */
// ws through require, as the product loads it (src/protocol/ws.ts): the fastest way Node offers.
import { WebSocket } from '../src/protocol/ws.js';

const ws = new WebSocket(`ws://127.0.0.1:${process.argv[2]}/echo`, { perMessageDeflate: false });
ws.on('open', () => ws.send('["zeek/management/controller"]'));
let acked = false;
ws.on('message', (data) => {
  if (!acked) {
    acked = true;
    ws.send('{"type":"data-message","topic":"zeek/management/controller","@data-type":"string","data":"get_instances_request"}');
    return;
  }
  process.stdout.write(`${data.toString()}\n`);
  ws.terminate();
});
ws.on('error', (err) => { process.stderr.write(`${err.message}\n`); process.exitCode = 1; });
