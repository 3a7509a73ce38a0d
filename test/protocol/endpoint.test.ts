import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import WebSocket from 'ws';
import { rawSession, terminateRawSessions } from '../helpers/raw-ws.js';
import { Endpoint, WS_PATH, count, str, vector, type Delivery, type PeerInfo } from '../../src/protocol/index.js';

const owned: Endpoint[] = [];
const sockets: WebSocket[] = [];

function endpoint(options: ConstructorParameters<typeof Endpoint>[0] = {}): Endpoint {
  const ep = new Endpoint(options);
  owned.push(ep);
  return ep;
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  terminateRawSessions();
  await Promise.all(owned.splice(0).map((e) => e.close()));
});
after(() => { for (const s of sockets) s.terminate(); terminateRawSessions(); });

async function server(options: ConstructorParameters<typeof Endpoint>[0] = {}, port = 0): Promise<{ ep: Endpoint; port: number }> {
  const ep = endpoint(options);
  const bound = await ep.listen({ host: '127.0.0.1', port });
  return { ep, port: bound.port };
}

function inbox(ep: Endpoint, prefix: string): Delivery[] {
  const got: Delivery[] = [];
  ep.subscribe(prefix, (d) => got.push(d));
  return got;
}

const until = async (check: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};


const dataFrame = (topic: string): string =>
  JSON.stringify({ type: 'data-message', topic, '@data-type': 'string', data: 'hi' });

describe('endpoint routing', () => {
  test('two clients and a server exchange messages by topic prefix, never echoed to the sender', async () => {
    const { ep: hub, port } = await server();
    const atHub = inbox(hub, 'zeek/b');
    const a = endpoint();
    const b = endpoint();
    const atA = inbox(a, 'zeek/a');
    const atB = inbox(b, 'zeek/');
    const linkA = a.connect({ host: '127.0.0.1', port, retry: false });
    const linkB = b.connect({ host: '127.0.0.1', port, retry: false });
    await Promise.all([linkA.ready(), linkB.ready()]);
    await until(() => hub.peerList().length === 2);

    a.publish('zeek/b/x', str('from a'));
    await until(() => atB.length === 1 && atHub.length === 1);
    assert.equal(atB[0]!.topic, 'zeek/b/x');
    assert.deepEqual(atB[0]!.value, str('from a'));
    const fromA = atHub[0]!.from;
    assert.equal(fromA.direction, 'inbound');
    assert.equal(fromA.remoteAddress, '127.0.0.1');
    assert.ok(fromA.remotePort > 0);
    assert.match(fromA.id, new RegExp(`^${hub.id}-websocket-\\d+$`));

    b.publish('zeek/a/1', count(7));
    await until(() => atA.length === 1);
    assert.deepEqual(atA[0]!.value, count(7));

    hub.publish('zeek/a/2', vector([str('x')]));
    await until(() => atA.length === 2 && atB.length === 2);
    assert.equal(atB[1]!.from.direction, 'outbound');
    assert.equal(atB[1]!.from.id, linkB.connected!.id);

    hub.publish('zeek/b/own', str('from the hub'));
    assert.equal(atHub.length, 1, 'the hub never delivers its own publishes locally');
    // Barrier: a socket delivers in order, so once the hub's last publish has arrived, an echo sent before it would have too.
    hub.publish('zeek/a/barrier', str('barrier'));
    await until(() => atA.length === 3 && atB.length === 4);
    assert.deepEqual(atA.map((d) => d.topic), ['zeek/a/1', 'zeek/a/2', 'zeek/a/barrier'], 'a never receives its own message');
    assert.deepEqual(atB.map((d) => d.topic), ['zeek/b/x', 'zeek/a/2', 'zeek/b/own', 'zeek/a/barrier'], 'b never receives its own message');
  });

  test('publish to one peer reaches only that peer', async () => {
    const { ep: hub, port } = await server();
    const a = endpoint();
    const b = endpoint();
    const atA = inbox(a, 't');
    const atB = inbox(b, 't');
    await Promise.all([a.connect({ host: '127.0.0.1', port, retry: false }).ready(), b.connect({ host: '127.0.0.1', port, retry: false }).ready()]);
    await until(() => hub.peerList().length === 2);
    const target = hub.peerList()[0]!;
    hub.publish('t/1', str('only you'), { to: target.id });
    // Barrier: a publish to both after it; each socket delivers in order.
    hub.publish('t/barrier', str('both'));
    await until(() => atA.some((d) => d.topic === 't/barrier') && atB.some((d) => d.topic === 't/barrier'));
    assert.deepEqual([...atA, ...atB].filter((d) => d.topic === 't/1').map((d) => d.from.id), [target.id], "only the target got it");
  });

  test('a client reconnects after the server restarts', async () => {
    const first = await server();
    const client = endpoint();
    const got = inbox(client, 'news');
    const link = client.connect({ host: '127.0.0.1', port: first.port, retry: { initialMs: 20, maxMs: 100 } });
    const ups: PeerInfo[] = [];
    const downs: string[] = [];
    link.on('up', (p) => ups.push(p));
    link.on('down', (_p, reason) => downs.push(reason));
    await until(() => ups.length === 1);
    await first.ep.close();
    owned.splice(owned.indexOf(first.ep), 1);
    await until(() => downs.length >= 1);
    assert.equal(link.connected, undefined);
    const second = await server({}, first.port);
    await until(() => ups.length === 2, 5000);
    assert.notEqual(ups[1]!.id, ups[0]!.id, 'a new session with the new server');
    await until(() => second.ep.peerList().length === 1);
    second.ep.publish('news/1', str('back'));
    await until(() => got.length === 1);
  });

  test('dialNow dials at once instead of waiting out the back-off, also right after an attempt in flight', async () => {
    const gone = await server();
    const port = gone.port;
    await gone.ep.close();
    const client = endpoint();
    const link = client.connect({ host: '127.0.0.1', port, retry: { initialMs: 600_000, maxMs: 600_000 } });
    const downs: string[] = [];
    link.on('down', (_p, reason) => downs.push(reason));
    link.dialNow();
    // Asked for while the first attempt was in flight: its failure is followed by a second attempt, not the back-off.
    await until(() => downs.length === 2);
    await server({}, port);
    link.dialNow();
    const peer = await link.ready();
    assert.equal(link.connected, peer);
  });

  test('a non-retrying link to nobody fails with where it tried', async () => {
    const { ep, port } = await server();
    await ep.close();
    const client = endpoint();
    await assert.rejects(client.connect({ host: '127.0.0.1', port, retry: false }).ready(), new RegExp(`connection refused at ws://127.0.0.1:${port}${WS_PATH}`));
  });
});

describe('endpoint handshake and bad input', () => {
  test('any other path gets HTTP 404', async () => {
    const { port } = await server();
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/v2/other' }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject).end();
    });
    assert.equal(status, 404);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/wrong`);
    sockets.push(ws);
    const code = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    assert.equal(code, 404);
  });

  const badHandshakes: [string, string, RegExp][] = [
    ['not an array', '{"topics":"x"}', /handshake must be a JSON array/],
    ['not strings', '["ok", 5]', /handshake topics must be strings/],
    ['not JSON', '[oops', /not JSON/],
  ];
  for (const [label, text, re] of badHandshakes) {
    test(`a handshake that is ${label} gets an error and a close`, async () => {
      const { port } = await server();
      const c = await rawSession(port, text);
      const msg = JSON.parse(c.frames[0]!);
      assert.equal(msg.type, 'error');
      assert.equal(msg.code, 'invalid_handshake');
      assert.match(msg.context, re);
      assert.equal(await c.closed, 1008);
    });
  }

  test('a client that never sends its handshake is told so and closed', async () => {
    const { port } = await server({ handshakeTimeoutMs: 150 });
    const c = await rawSession(port);
    assert.equal(await c.closed, 1008);
    assert.equal(JSON.parse(c.frames[0]!).code, 'peer_timeout');
  });

  test('malformed messages are answered with an error while the server keeps serving', async () => {
    const { ep: hub, port } = await server({ maxFrameBytes: 1024 });
    const got = inbox(hub, 'ok');
    const bystander = await rawSession(port, '["ok"]');
    const bad = await rawSession(port, '["x"]');
    const inputs: [string, RegExp][] = [
      ['this is not json', /not JSON/],
      ['{"no":"type"}', /message has no string "type"/],
      ['{"type":"data-message","@data-type":"string","data":"x"}', /topic/],
      ['{"type":"data-message","topic":"ok/1","@data-type":"count","data":"seven"}', /^data: expected count, got string "seven"$/],
      ['[1,2,3]', /expected a JSON object message/],
      [JSON.stringify({ type: 'data-message', topic: 'ok/big', '@data-type': 'string', data: 'x'.repeat(1500) }), /exceeds the limit of 1024 bytes/],
    ];
    for (const [i, [text, re]] of inputs.entries()) {
      bad.ws.send(text);
      await until(() => bad.frames.length === i + 2);
      const msg = JSON.parse(bad.frames[i + 1]!);
      assert.equal(msg.type, 'error', text);
      assert.match(msg.context, re);
    }
    bad.ws.send(dataFrame('ok/after'));
    bystander.ws.send(dataFrame('ok/bystander'));
    await until(() => got.length === 2);
    assert.deepEqual(got.map((d) => d.topic).sort(), ['ok/after', 'ok/bystander']);
    assert.equal(bad.ws.readyState, WebSocket.OPEN, 'the sender of bad input keeps its session');
  });

  test('a listener that limits publishing refuses other topics and keeps serving', async () => {
    const hub = endpoint();
    const { port } = await hub.listen({ host: '127.0.0.1', port: 0, publishTopics: ['ok/'] });
    const got = inbox(hub, '');
    const c = await rawSession(port, '[]');
    c.ws.send(dataFrame('agents/impostor'));
    await until(() => c.frames.length === 2);
    assert.match(JSON.parse(c.frames[1]!).context, /publishing on topic agents\/impostor is not allowed on this port/);
    c.ws.send(dataFrame('ok/fine'));
    await until(() => got.length === 1);
    assert.equal(got[0]!.topic, 'ok/fine');
  });

  test('an admission grants publishing within the listener\'s limit, never beyond it', async () => {
    const hub = endpoint();
    const { port } = await hub.listen({ host: '127.0.0.1', port: 0, publishTopics: ['ok/'], admit: () => ({ ok: true, principal: 'p', mayPublish: ['ok/mine', 'other/'] }) });
    const got = inbox(hub, '');
    const c = await rawSession(port, '[]');
    c.ws.send(dataFrame('other/wider'));
    c.ws.send(dataFrame('ok/yours'));
    c.ws.send(dataFrame('ok/mine/x'));
    await until(() => got.length === 1 && c.frames.length === 3);
    assert.deepEqual(got.map((d) => d.topic), ['ok/mine/x']);
  });

  test('a frame beyond twice the limit closes that session only', async () => {
    const { ep: hub, port } = await server({ maxFrameBytes: 512 });
    const got = inbox(hub, 'ok');
    const bystander = await rawSession(port, '["ok"]');
    const bad = await rawSession(port, '["x"]');
    bad.ws.send('x'.repeat(4096));
    assert.equal(await bad.closed, 1009);
    bystander.ws.send(dataFrame('ok/still'));
    await until(() => got.length === 1);
  });

  test('a peer that stops answering pings is dropped with its subscriptions', async () => {
    const { ep: hub, port } = await server({ pingIntervalMs: 80 });
    const downs: PeerInfo[] = [];
    hub.on('peer-down', (p) => downs.push(p));
    const silent = await rawSession(port, '["t"]', { autoPong: false });
    await until(() => hub.peerList().length === 1);
    await until(() => downs.length === 1, 2000);
    assert.equal(hub.peerList().length, 0);
    assert.deepEqual(downs[0]!.subscriptions, ['t']);
    await silent.closed;
  });

  test('a listener can ping less often than the endpoint (for clients whose timeout pings restart)', async () => {
    const hub = endpoint({ pingIntervalMs: 80 });
    const quiet = await hub.listen({ host: '127.0.0.1', port: 0, pingIntervalMs: 0 });
    const normal = await hub.listen({ host: '127.0.0.1', port: 0 });
    const downs: PeerInfo[] = [];
    hub.on('peer-down', (p) => downs.push(p));
    const pings: number[] = [];
    const onQuiet = await rawSession(quiet.port, '["a"]', { autoPong: false });
    onQuiet.ws.on('ping', () => pings.push(Date.now()));
    await rawSession(normal.port, '["b"]', { autoPong: false });
    await until(() => downs.length === 1, 2000);
    assert.deepEqual(downs[0]!.subscriptions, ['b'], 'only the peer on the normal listener is dropped');
    // Barrier: by now the hub pinged on the normal listener several times; a message to the quiet peer comes after any ping sent to it.
    hub.publish('a/barrier', str('x'));
    await until(() => onQuiet.frames.some((f) => f.includes('a/barrier')));
    assert.equal(pings.length, 0, 'the quiet listener never pinged');
    assert.equal(hub.peerList().length, 1);
  });

  test('close leaves no sockets or timers behind', async () => {
    const before = new Set(process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap'));
    const countOf = (list: string[], kind: string): number => list.filter((r) => r === kind).length;
    const baseline = process.getActiveResourcesInfo();
    const hub = new Endpoint({ pingIntervalMs: 50 });
    const { port } = await hub.listen({ host: '127.0.0.1', port: 0 });
    const client = new Endpoint({ pingIntervalMs: 50 });
    const link = client.connect({ host: '127.0.0.1', port });
    await link.ready();
    await client.close();
    await hub.close();
    const kinds = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'];
    // Sockets are released by the event loop shortly after close; wait for that, then name what is left.
    await until(() => kinds.every((kind) => countOf(process.getActiveResourcesInfo(), kind) <= countOf(baseline, kind)), 2000).catch(() => undefined);
    const now = process.getActiveResourcesInfo();
    for (const kind of kinds) {
      assert.ok(countOf(now, kind) <= countOf(baseline, kind), `${kind}: ${countOf(now, kind)} now vs ${countOf(baseline, kind)} before (${[...before].join(',')})`);
    }
  });
});
