/**
 * The Prometheus endpoint a Zeek node opens on its metrics port
 * (`Cluster::nodes[…]$metrics_port`), with a few of Zeek's own metrics.
 * Like Zeek, a port that cannot be bound is a warning, not fatal.
 */
import { createServer, type Server } from 'node:http';

export function serveMetrics(host: string, port: number, node: string, version: string, onError: (message: string) => void): Server {
  const started = Date.now() / 1000;
  const srv = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    const labels = `endpoint="${node}"`;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end([
      '# HELP zeek_version_info The Zeek version',
      '# TYPE zeek_version_info gauge',
      `zeek_version_info{${labels},version_number="${version}"} 1`,
      '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
      '# TYPE process_start_time_seconds gauge',
      `process_start_time_seconds{${labels}} ${started}`,
      '# HELP process_resident_memory_bytes Resident memory size in bytes.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes{${labels}} ${process.memoryUsage().rss}`,
      '',
    ].join('\n'));
  });
  srv.on('error', (err) => onError(`warning: could not open the metrics endpoint on ${host}:${port} (${err.message})`));
  srv.listen(port, host);
  return srv;
}
