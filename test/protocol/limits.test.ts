/**
 * The endpoint's limits against a peer we do not trust, over real sockets:
 * nesting that would overflow a recursive decoder, long topics, handshakes
 * with too many or nested subscriptions, too many connections from one
 * address, a peer that stops reading, and topic churn in the route cache.
 * Every time the sender gets an error, the endpoint keeps serving others.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { rawSession, terminateRawSessions, type RawSession } from '../helpers/raw-ws.js';
import { Endpoint, str, type Delivery, type Logger, type PeerInfo } from '../../src/protocol/index.js';

const owned: Endpoint[] = [];
const sockets: WebSocket[] = [];
const raw: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  terminateRawSessions();
  for (const s of raw.splice(0)) s.destroy();
  await Promise.all(owned.splice(0).map((e) => e.close()));
});

/** A logger that keeps the warnings. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const none = (): void => undefined;
  return { warnings, debug: none, info: none, error: none, warn: (_o, msg) => { warnings.push(msg ?? ''); } };
}

async function hub(options: ConstructorParameters<typeof Endpoint>[0] = {}): Promise<{ ep: Endpoint; port: number; got: Delivery[] }> {
  const ep = new Endpoint({ pingIntervalMs: 0, ...options });
  owned.push(ep);
  const got: Delivery[] = [];
  ep.subscribe('ok', (d) => got.push(d));
  const { port } = await ep.listen({ host: '127.0.0.1', port: 0 });
  return { ep, port, got };
}

const until = async (check: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const client = (port: number, handshake = '["ok"]'): Promise<RawSession> => rawSession(port, handshake);

const nestedVector = (depth: number): string =>
  '{"@data-type":"vector","data":['.repeat(depth) + '{"@data-type":"count","data":1}' + ']}'.repeat(depth);

/** Proves the endpoint still serves: a bystander's message arrives. */
async function stillServes(port: number, got: Delivery[]): Promise<void> {
  const bystander = await client(port);
  const before = got.length;
  bystander.ws.send(JSON.stringify({ type: 'data-message', topic: 'ok/barrier', '@data-type': 'string', data: 'still here' }));
  await until(() => got.length > before && got.at(-1)!.topic === 'ok/barrier');
}

describe('wire limits', () => {
  test('a vector nested 100 000 deep is refused with an error naming the depth limit; the sender keeps its session', async () => {
    const { port, got } = await hub();
    const c = await client(port);
    c.ws.send(`{"type":"data-message","topic":"ok/deep",${nestedVector(100_000).slice(1)}`);
    await until(() => c.frames.length === 2);
    const err = JSON.parse(c.frames[1]!) as { type: string; context: string };
    assert.equal(err.type, 'error');
    assert.match(err.context, /values are nested more than 32 levels deep/);
    c.ws.send(JSON.stringify({ type: 'data-message', topic: 'ok/after', '@data-type': 'string', data: 'x' }));
    await until(() => got.some((d) => d.topic === 'ok/after'));
    assert.equal(got.some((d) => d.topic === 'ok/deep'), false);
  });

  test('nesting within the limit passes, one more level does not (--max-depth)', async () => {
    const { port, got } = await hub({ limits: { maxDepth: 20 } });
    const c = await client(port);
    c.ws.send(`{"type":"data-message","topic":"ok/20",${nestedVector(20).slice(1)}`);
    c.ws.send(`{"type":"data-message","topic":"ok/21",${nestedVector(21).slice(1)}`);
    await until(() => c.frames.length === 2);
    assert.match(JSON.parse(c.frames[1]!).context, /nested more than 20 levels deep/);
    await stillServes(port, got);
    assert.deepEqual(got.map((d) => d.topic).filter((t) => t !== 'ok/barrier'), ['ok/20']);
  });

  test('a handshake of 10 000 nested arrays, of nested topics, or of too many topics is refused; the listener keeps serving', async () => {
    const { port, got } = await hub();
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const cases: [string, RegExp][] = [
      [deep, /handshake topics must be strings, got \[\[\[/],
      [`{"topics":${'['.repeat(50_000)}${']'.repeat(50_000)}}`, /handshake must be a JSON array of topic strings/],
      [JSON.stringify(Array.from({ length: 65 }, (_, i) => `t${i}`)), /subscribes to 65 topics, more than the limit of 64/],
      [JSON.stringify(['x'.repeat(2000)]), /topic of 2000 characters exceeds the limit of 1024/],
    ];
    for (const [handshake, re] of cases) {
      const c = await client(port, handshake);
      assert.equal(JSON.parse(c.frames[0]!).code, 'invalid_handshake');
      assert.match(JSON.parse(c.frames[0]!).context, re);
      assert.equal(await c.closed, 1008);
    }
    await stillServes(port, got);
  });

  test('an error message whose fields are nested values is logged, not stringified without bound', async () => {
    const errors: string[] = [];
    const { ep, port, got } = await hub();
    ep.on('peer-error', (_p, e) => errors.push(e.code));
    const c = await client(port);
    c.ws.send(`{"type":"error","code":${'['.repeat(50_000)}${']'.repeat(50_000)},"context":"x"}`);
    await until(() => errors.length === 1);
    assert.ok(errors[0]!.length <= 60, 'a preview of the nested code');
    await stillServes(port, got);
  });

  test('a data message with a topic over the limit is refused', async () => {
    const { port, got } = await hub({ limits: { maxTopicLength: 64 } });
    const c = await client(port);
    c.ws.send(JSON.stringify({ type: 'data-message', topic: `ok/${'t'.repeat(100)}`, '@data-type': 'string', data: 'x' }));
    await until(() => c.frames.length === 2);
    assert.match(JSON.parse(c.frames[1]!).context, /topic of 103 characters exceeds the limit of 64/);
    await stillServes(port, got);
    assert.equal(got.length, 1, 'only the barrier arrived');
  });

  test('connections beyond the limit per address are closed at once; one more is accepted when one goes', async () => {
    const log = recordingLogger();
    const { port, got } = await hub({ limits: { maxConnectionsPerAddress: 3 }, logger: log });
    const open = await Promise.all([client(port), client(port), client(port)]);
    const refused = tcpConnect(port, '127.0.0.1');
    raw.push(refused);
    refused.on('error', () => undefined);
    await new Promise<void>((resolve) => refused.once('close', () => resolve()));
    assert.equal(log.warnings.filter((w) => /refusing connections from 127\.0\.0\.1/.test(w)).length, 1);
    open[0]!.ws.close();
    await open[0]!.closed;
    await until(() => true);
    // The slot is free once the server saw the close; retry briefly.
    let barrierSent = false;
    for (let i = 0; i < 100 && !barrierSent; i++) {
      try {
        await stillServes(port, got);
        barrierSent = true;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    assert.ok(barrierSent, 'a new connection is accepted once one closed');
  });

  test('a subscriber that stops reading is dropped once its queue passes the limit, with a log line; others are served', async () => {
    const log = recordingLogger();
    const { ep, port, got } = await hub({ limits: { maxQueueBytes: 2 * 1024 * 1024 }, logger: log });
    const downs: PeerInfo[] = [];
    ep.on('peer-down', (p) => downs.push(p));
    const slow = await client(port, '["big"]');
    (slow.ws as unknown as { _socket: Socket })._socket.pause();
    const chunk = str('x'.repeat(512 * 1024));
    for (let i = 0; i < 400 && downs.length === 0; i++) {
      ep.publish('big/data', chunk);
      await new Promise((r) => setImmediate(r));
    }
    await until(() => downs.length === 1);
    assert.ok(log.warnings.some((w) => /stopped reading and \d+ bytes wait for it \(limit 2097152\)/.test(w)), log.warnings.join('\n'));
    await stillServes(port, got);
  });

  test('topic churn leaves at most maxRoutes cached routes', async () => {
    const { ep, port } = await hub({ limits: { maxRoutes: 16 } });
    await client(port, '["churn"]');
    for (let i = 0; i < 5000; i++) ep.publish(`churn/${i}`, str('x'));
    assert.ok(ep.cachedRoutes <= 16, `${ep.cachedRoutes} routes cached`);
  });
});
