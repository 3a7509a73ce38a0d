/**
 * The Prometheus endpoint a Zeek node opens on its metrics port
 * (`Cluster::nodes[…]$metrics_port`), with a few of Zeek's own metrics.
 * A worker reading an interface also serves the capture counters Zeek's
 * `misc/stats` publishes (packets received and dropped since it started),
 * growing at a steady simulated rate. Like Zeek, a port that cannot be
 * bound is a warning, not fatal.
 */
import { createServer, type Server } from 'node:http';

/** A worker's simulated traffic: packets per second on its interface, and the share of them dropped, in percent. */
export interface SimCapture { packetRate: number; dropPercent: number }

/** A steady rate per worker, 2000 to 12000 packets/s by its name, so workers differ as real ones do. */
export function defaultPacketRate(node: string): number {
  let h = 0;
  for (const c of node) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return 2000 + (h % 10_001);
}

function counter(name: string, help: string, labels: string, value: number): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name}{${labels}} ${value}`];
}

export function serveMetrics(host: string, port: number, node: string, version: string, capture: SimCapture | undefined, onError: (message: string) => void): Server {
  const started = Date.now() / 1000;
  const srv = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    const labels = `node="${node}"`;
    const lines = [
      '# HELP zeek_version_info The Zeek version',
      '# TYPE zeek_version_info gauge',
      `zeek_version_info{${labels},version_number="${version}"} 1`,
      '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
      '# TYPE process_start_time_seconds gauge',
      `process_start_time_seconds{${labels}} ${started}`,
      '# HELP process_resident_memory_bytes Resident memory size in bytes.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes{${labels}} ${process.memoryUsage().rss}`,
    ];
    if (capture) {
      // Of the packets on the wire, dropPercent are dropped, the rest received.
      const seen = Math.floor((Date.now() / 1000 - started) * capture.packetRate);
      const dropped = Math.floor((seen * capture.dropPercent) / 100);
      lines.push(
        ...counter('zeek_net_received_packets_total', 'Total number of packets received', labels, seen - dropped),
        ...counter('zeek_net_dropped_packets_total', 'Total number of packets dropped', labels, dropped),
      );
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`${lines.join('\n')}\n`);
  });
  srv.on('error', (err) => onError(`warning: could not open the metrics endpoint on ${host}:${port} (${err.message})`));
  srv.listen(port, host);
  return srv;
}
