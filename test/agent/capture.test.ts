/**
 * The workers' capture figures: parsing Prometheus text, and the meter
 * scraping real HTTP endpoints (the simulated node's own metrics server,
 * a server answering 500, one answering too much, one not listening).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CaptureMeter, parseCaptureFigures } from '../../src/agent/capture.js';
import { serveMetrics } from '../../src/node/metrics.js';
import { freePort } from '../helpers/process.js';

const servers: Server[] = [];
after(() => { for (const s of servers) s.close(); });

function listening(srv: Server): Promise<number> {
  servers.push(srv);
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as AddressInfo).port)));
}

describe('capture figures', () => {
  test('the two counters are read from Prometheus text, each summed over its series', () => {
    const text = [
      '# HELP zeek_net_received_packets_total Total number of packets received',
      '# TYPE zeek_net_received_packets_total counter',
      'zeek_net_received_packets_total{node="worker-01"} 1500',
      'zeek_net_received_packets_total{node="worker-01",odd="a}b \\" c"} 500 1700000000000',
      'zeek_net_dropped_packets_total{node="worker-01"} 7',
      'zeek_net_received_packets_total_bogus 99',
      'zeek_net_received_packets_totalX 99',
      'zeek_net_dropped_packets_total{node="worker-01"} NaN',
      'zeek_net_dropped_packets_total{node="worker-01"} -3',
      'zeek_version_info{node="worker-01"} 1',
    ].join('\n');
    assert.deepEqual(parseCaptureFigures(text), { received: 2000, dropped: 7 });
    assert.deepEqual(parseCaptureFigures('zeek_net_received_packets_total 12\n'), { received: 12 }, 'no drop counter: offline, or not read live');
    assert.equal(parseCaptureFigures('zeek_version_info 1\n'), undefined, 'a node without misc/stats has none');
    assert.equal(parseCaptureFigures(''), undefined);
  });

  test('the meter reads a worker\'s figures from its metrics port, for its current process only', async () => {
    const port = await freePort();
    const srv = serveMetrics('127.0.0.1', port, 'worker-01', '8.0.0', { packetRate: 100_000, dropPercent: 10 }, (m) => assert.fail(m));
    servers.push(srv);
    await new Promise((resolve) => srv.once('listening', resolve));
    const meter = new CaptureMeter();
    await meter.sample([{ node: 'worker-01', host: '127.0.0.1', port, pid: 42 }], () => 1000);
    const first = meter.of('worker-01', 42);
    assert.ok(first, 'figures read');
    assert.equal(first.at, 1000);
    assert.ok(first.dropped !== undefined && Math.abs(first.dropped - first.received / 9) <= 1, `10% of the packets seen dropped: ${JSON.stringify(first)}`);
    assert.equal(meter.of('worker-01', 43), undefined, 'another process of the node has no figures yet');
    await new Promise((r) => setTimeout(r, 20));
    await meter.sample([{ node: 'worker-01', host: '127.0.0.1', port, pid: 42 }], () => 2000);
    assert.ok(meter.of('worker-01', 42)!.received > first.received, 'the counter grows');
    await meter.sample([], () => 3000);
    assert.equal(meter.of('worker-01', 42), undefined, 'a node no longer scraped is forgotten');
    meter.close();
  });

  test('an endpoint that fails, answers too much or is not there yields no figures, and keeps no socket', async () => {
    const failing = await listening(createServer((_req, res) => { res.writeHead(500).end('zeek_net_received_packets_total 5\n'); }));
    const huge = await listening(createServer((_req, res) => {
      res.writeHead(200);
      const line = `zeek_net_received_packets_total 5\n${'#'.repeat(1024 * 1024)}\n`;
      for (let i = 0; i < 6; i++) res.write(line);
      res.end();
    }));
    const closed = await freePort();
    const meter = new CaptureMeter();
    await meter.sample([
      { node: 'a', host: '127.0.0.1', port: failing, pid: 1 },
      { node: 'b', host: '127.0.0.1', port: huge, pid: 1 },
      { node: 'c', host: '127.0.0.1', port: closed, pid: 1 },
    ]);
    for (const n of ['a', 'b', 'c']) assert.equal(meter.of(n, 1), undefined, n);
    meter.close();
  });
});
