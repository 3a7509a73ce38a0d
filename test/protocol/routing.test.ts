/**
 * Routing as peers come and go (the endpoint caches subscribers per topic)
 * and the heartbeat's tolerance of a few missed pings.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Endpoint, WS_PATH, str, type PeerInfo } from '../../src/protocol/index.js';
import { MISSED_PINGS_ALLOWED } from '../../src/protocol/peer.js';

const owned: Endpoint[] = [];
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await Promise.all(owned.splice(0).map((e) => e.close()));
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const until = async (check: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
};

async function hub(pingIntervalMs = 0, relay = true): Promise<{ ep: Endpoint; port: number }> {
  const ep = new Endpoint({ pingIntervalMs, relay });
  owned.push(ep);
  const { port } = await ep.listen({ host: '127.0.0.1', port: 0 });
  return { ep, port };
}

/** A raw client subscribed to `topics`; records the topics of the data messages it gets. */
async function subscriber(port: number, topics: string[], options: WebSocket.ClientOptions = {}): Promise<{ ws: WebSocket; got: string[]; closed: Promise<void> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${WS_PATH}`, options);
  sockets.push(ws);
  const got: string[] = [];
  let acked = false;
  ws.on('error', () => undefined);
  ws.on('message', (d) => {
    const msg = JSON.parse(d.toString()) as { type: string; topic?: string };
    if (msg.type === 'ack') acked = true;
    else if (msg.type === 'data-message') got.push(msg.topic!);
  });
  const closed = new Promise<void>((r) => ws.once('close', () => r()));
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  ws.send(JSON.stringify(topics));
  await until(() => acked);
  return { ws, got, closed };
}

describe('routing while peers come and go', () => {
  test('a publish reaches exactly the peers subscribed at that moment', async () => {
    const { ep, port } = await hub();
    const a = await subscriber(port, ['t/']);
    const other = await subscriber(port, ['u/']);
    ep.publish('t/1', str('x'));
    await until(() => a.got.length === 1);
    const b = await subscriber(port, ['t/1']);
    ep.publish('t/1', str('x'));
    await until(() => a.got.length === 2 && b.got.length === 1);
    a.ws.close();
    await a.closed;
    await until(() => ep.peerList().length === 2);
    ep.publish('t/1', str('x'));
    await until(() => b.got.length === 2);
    ep.publish('u/1', str('y'));
    await until(() => other.got.length === 1);
    assert.deepEqual(a.got, ['t/1', 't/1']);
    assert.deepEqual(other.got, ['u/1']);
  });

  test('a directed publish reaches only its peer, and only if it subscribes to the topic', async () => {
    const { ep, port } = await hub();
    const a = await subscriber(port, ['t/']);
    const b = await subscriber(port, ['t/']);
    const c = await subscriber(port, ['u/']);
    const [pa, , pc] = ep.peerList();
    ep.publish('t/1', str('x'), { to: pa!.id });
    ep.publish('t/2', str('x'), { to: pc!.id });
    ep.publish('t/3', str('x'), { to: 'no-such-peer' });
    ep.publish('u/1', str('y'), { to: pc!.id });
    // Barrier: a publish to everyone after them; each socket delivers in order.
    ep.publish('t/barrier', str('x'));
    ep.publish('u/barrier', str('x'));
    await until(() => [a, b].every((s) => s.got.includes('t/barrier')) && c.got.includes('u/barrier'));
    assert.deepEqual(a.got, ['t/1', 't/barrier']);
    assert.deepEqual(b.got, ['t/barrier']);
    assert.deepEqual(c.got, ['u/1', 'u/barrier']);
  });

  test('a message from one peer is routed to the others subscribed, never back to its sender', async () => {
    const { ep, port } = await hub();
    const a = await subscriber(port, ['t/']);
    const b = await subscriber(port, ['t/']);
    a.ws.send(JSON.stringify({ type: 'data-message', topic: 't/x', '@data-type': 'string', data: 'hi' }));
    await until(() => b.got.length === 1);
    // Barrier: the hub's own publish after a's message reaches a after any echo of it would have.
    ep.publish('t/barrier', str('x'));
    await until(() => a.got.length > 0);
    assert.deepEqual(a.got, ['t/barrier']);
    assert.equal(ep.peerList().length, 2);
  });

  test('without relay a message from a peer is delivered locally and goes to no other peer', async () => {
    const { ep, port } = await hub(0, false);
    const local: string[] = [];
    ep.subscribe('t/', (d) => local.push(d.topic));
    const a = await subscriber(port, ['t/']);
    const b = await subscriber(port, ['t/']);
    a.ws.send(JSON.stringify({ type: 'data-message', topic: 't/x', '@data-type': 'string', data: 'hi' }));
    await until(() => local.length === 1);
    // b's socket is in order: once it has the hub's own publish, a relayed t/x would have come before it.
    ep.publish('t/own', str('x'));
    await until(() => b.got.length === 1);
    assert.deepEqual(b.got, ['t/own']);
    assert.deepEqual(local, ['t/x']);
  });
});

describe('heartbeat', () => {
  test(`a peer is dropped only after ${MISSED_PINGS_ALLOWED} unanswered pings in a row`, async () => {
    const interval = 150;
    const { ep, port } = await hub(interval);
    const downs: PeerInfo[] = [];
    ep.on('peer-down', (p) => downs.push(p));
    const silent = await subscriber(port, ['t'], { autoPong: false });
    let pings = 0;
    silent.ws.on('ping', () => { pings += 1; });
    await silent.closed;
    await until(() => downs.length === 1, 5000);
    // The hub pings at each check and drops the peer at the check after the last allowed ping: what arrived before the close says when.
    assert.equal(pings, MISSED_PINGS_ALLOWED, `dropped after ${pings} unanswered pings`);
  });

  test('a peer that answers pings stays connected', async () => {
    const interval = 50;
    const { ep, port } = await hub(interval);
    const answering = await subscriber(port, ['t']);
    let pings = 0;
    answering.ws.on('ping', () => { pings += 1; });
    // Each ping is a check the peer survived (a dropped peer gets no more pings).
    await until(() => pings >= MISSED_PINGS_ALLOWED + 3, 5000);
    assert.equal(ep.peerList().length, 1);
  });
});
