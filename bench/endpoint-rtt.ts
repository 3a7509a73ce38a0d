/**
 * Round-trip latency of a small event through the protocol endpoint
 * (client Endpoint → server Endpoint handler → back) against a bare `ws`
 * echo of the same JSON text, measured in the same run.
 */
import { WebSocketServer, WebSocket } from 'ws';
import { Endpoint, encodeData, encodeEvent, str, count } from '../src/protocol/index.js';
import { interleaved, percentile, type RoundTrip, type Row } from './stats.js';

const EVENT = encodeEvent({ name: 'Management::Controller::API::get_instances_request', args: [str('a1b2c3'), count(1)] });

interface Harness { roundTrip: RoundTrip; close: () => Promise<void> }

async function endpointHarness(): Promise<Harness> {
  const server = new Endpoint({ pingIntervalMs: 0 });
  server.subscribe('bench/req', (d) => server.publish('bench/resp', d.value, { to: d.from.id }));
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const client = new Endpoint({ pingIntervalMs: 0 });
  let resolve: (() => void) | undefined;
  client.subscribe('bench/resp', () => resolve?.());
  await client.connect({ host: '127.0.0.1', port, subscriptions: ['bench/resp'] }).ready();
  return {
    roundTrip: () => new Promise<void>((r) => { resolve = r; client.publish('bench/req', EVENT); }),
    close: async () => { await client.close(); await server.close(); },
  };
}

async function bareWsHarness(): Promise<Harness> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data.toString())));
  const addr = wss.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise((r) => ws.once('open', r));
  const text = encodeData('bench/req', EVENT);
  let resolve: (() => void) | undefined;
  ws.on('message', () => resolve?.());
  return {
    roundTrip: () => new Promise<void>((r) => { resolve = r; ws.send(text); }),
    close: async () => { ws.terminate(); await new Promise((r) => wss.close(r)); },
  };
}

export async function endpointRoundTrip(quick: boolean): Promise<Row[]> {
  const n = quick ? 200 : 20000;
  const [endpoint, bareWs] = [await endpointHarness(), await bareWsHarness()];
  const [ours, bare] = await interleaved(n, endpoint.roundTrip, bareWs.roundTrip);
  await endpoint.close();
  await bareWs.close();
  return [50, 99].map((p) => ({
    benchmark: `event round trip through the endpoint, p${p} (n=${n})`,
    product: percentile(ours, p),
    floor: percentile(bare, p),
    unit: 'ms',
    target: '≤ 1.5×',
  }));
}
