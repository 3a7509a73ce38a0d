/**
 * Capture figures of the workers: packets received and dropped, read from
 * each worker's Prometheus endpoint (its metrics port), where Zeek's
 * `misc/stats` publishes `zeek_net_received_packets_total` and
 * `zeek_net_dropped_packets_total` (zeekctl's default `local.zeek` loads
 * it; the simulated node always serves them). The agent scrapes every
 * SAMPLE_INTERVAL_MS, so get_nodes answers at once with the latest figures
 * and the time they were read.
 *
 * A scrape is bounded: SCRAPE_TIMEOUT_MS, MAX_SCRAPE_BYTES of text, and
 * only the two families are read from it. A node that serves no such
 * figures (or no metrics at all) simply has none.
 */
import { request, type ClientRequest } from 'node:http';

export const RECEIVED_FAMILY = 'zeek_net_received_packets_total';
export const DROPPED_FAMILY = 'zeek_net_dropped_packets_total';
const SCRAPE_TIMEOUT_MS = 2000;
/** Real Zeek's metrics text is tens of KiB; a larger answer is cut off here. */
const MAX_SCRAPE_BYTES = 4 * 1024 * 1024;

export interface CaptureFigures {
  received: number;
  /** Absent while the node does not read live traffic (Zeek sets it then only). */
  dropped?: number;
  /** When the figures were read, ms since the epoch. */
  at: number;
}

/** A worker to scrape, identified with its process (figures of an earlier process are dropped). */
export interface CaptureTarget { node: string; host: string; port: number; pid: number }

/**
 * The two counters from Prometheus text (the exposition format, version
 * 0.0.4): each family summed over its series; undefined when the text has
 * no received-packets series.
 */
export function parseCaptureFigures(text: string): { received: number; dropped?: number } | undefined {
  let received: number | undefined;
  let dropped: number | undefined;
  for (const line of text.split('\n')) {
    const family = line.startsWith(RECEIVED_FAMILY) ? 'received' : line.startsWith(DROPPED_FAMILY) ? 'dropped' : undefined;
    if (!family) continue;
    const name = family === 'received' ? RECEIVED_FAMILY : DROPPED_FAMILY;
    const rest = line.slice(name.length);
    // `name value`, `name{labels} value`, optionally followed by a timestamp.
    const m = /^(?:\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s+(\S+)/.exec(rest);
    if (!m) continue;
    const value = Number(m[1]);
    if (!Number.isFinite(value) || value < 0) continue;
    if (family === 'received') received = (received ?? 0) + value;
    else dropped = (dropped ?? 0) + value;
  }
  if (received === undefined) return undefined;
  return dropped === undefined ? { received } : { received, dropped };
}

/** GET http://host:port/metrics, as text; undefined on any failure. The request is in `open` while it runs. */
function scrape(host: string, port: number, open: Set<ClientRequest>): Promise<string | undefined> {
  return new Promise<string | undefined>((resolve) => {
    const req = request({ host, port, path: '/metrics', timeout: SCRAPE_TIMEOUT_MS, headers: { accept: 'text/plain' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve(undefined);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_SCRAPE_BYTES) {
          req.destroy();
          resolve(undefined);
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.on('close', () => { open.delete(req); resolve(undefined); });
    open.add(req);
    req.end();
  });
}

export class CaptureMeter {
  private readonly figures = new Map<string, CaptureFigures & { pid: number }>();
  private busy = false;
  private readonly open = new Set<ClientRequest>();

  /** Scrapes every target (at once); forgets nodes not among them. A round still running makes this one a no-op. */
  async sample(targets: readonly CaptureTarget[], now: () => number = Date.now): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const names = new Set(targets.map((t) => t.node));
      for (const name of this.figures.keys()) if (!names.has(name)) this.figures.delete(name);
      await Promise.all(targets.map(async (t) => {
        const text = await scrape(t.host, t.port, this.open);
        const parsed = text === undefined ? undefined : parseCaptureFigures(text);
        if (parsed) this.figures.set(t.node, { ...parsed, at: now(), pid: t.pid });
      }));
    } finally {
      this.busy = false;
    }
  }

  /** Ends the scrapes under way. */
  close(): void {
    for (const req of this.open) req.destroy();
    this.open.clear();
  }

  /** The latest figures of a node's current process, if any were read. */
  of(node: string, pid: number | undefined): CaptureFigures | undefined {
    const f = this.figures.get(node);
    if (!f || f.pid !== pid) return undefined;
    const { pid: _pid, ...figures } = f;
    return figures;
  }
}
