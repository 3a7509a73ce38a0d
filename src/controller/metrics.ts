/**
 * The controller's Prometheus endpoints, served on its client listener:
 *
 * - `/services.json`: Prometheus HTTP service discovery (http_sd): one
 *   target per node of the deployed configuration with a metrics port, at
 *   its instance's address, labelled `node`, `role`, `instance`;
 * - `/metrics`: the controller's own figures in the text exposition format:
 *   client requests by kind and outcome, their latency, the agents
 *   connected, and per node the restarts and crashes its agent reported.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Configuration, Instance, State } from '../management/index.js';
import { sendJson, sendText } from '../protocol/index.js';

/** Request latency buckets, seconds. */
const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Requests waiting for their response that are remembered; beyond it the oldest is forgotten (a request may never be answered). */
const MAX_OPEN = 10_000;

interface Histogram { counts: number[]; sum: number; count: number }

/** Prometheus label value escaping: backslash, double quote, newline. */
const label = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (pairs: Record<string, string>): string => `{${Object.entries(pairs).map(([k, v]) => `${k}="${label(v)}"`).join(',')}}`;

export class ControllerMetrics {
  private readonly open = new Map<string, { kind: string; start: bigint }>();
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly restarts = new Map<string, number>();
  private readonly crashes = new Map<string, number>();

  constructor(private readonly now: () => bigint = process.hrtime.bigint) {}

  /** A client request arrived. */
  started(kind: string, reqid: string): void {
    if (this.open.size >= MAX_OPEN) this.open.delete(this.open.keys().next().value!);
    this.open.set(reqid, { kind, start: this.now() });
  }

  /** Its response went out. */
  finished(kind: string, reqid: string, success: boolean): void {
    const key = `${kind}\0${success ? 'success' : 'failure'}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const began = this.open.get(reqid);
    if (!began || began.kind !== kind) return;
    this.open.delete(reqid);
    const seconds = Number(this.now() - began.start) / 1e9;
    let h = this.latency.get(kind);
    if (!h) this.latency.set(kind, (h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    BUCKETS.forEach((b, i) => { if (seconds <= b) h.counts[i]! += 1; });
    h.sum += seconds;
    h.count += 1;
  }

  /**
   * An agent's notify_change: a node going back to PENDING after RUNNING,
   * CRASHED or FAILED is a restart (by the agent after a crash, or asked
   * for); going to CRASHED is a crash.
   */
  nodeChange(instance: string, node: string, from: State, to: State): void {
    const key = `${instance}\0${node}`;
    if (to === 'PENDING' && (from === 'RUNNING' || from === 'CRASHED' || from === 'FAILED')) this.restarts.set(key, (this.restarts.get(key) ?? 0) + 1);
    if (to === 'CRASHED') this.crashes.set(key, (this.crashes.get(key) ?? 0) + 1);
  }

  render(agents: number): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string): void => { out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`); };
    family('zeek_mgmt_requests_total', 'counter', 'Client requests answered, by request kind and outcome.');
    for (const [key, n] of [...this.requests].sort()) {
      const [request, outcome] = key.split('\0') as [string, string];
      out.push(`zeek_mgmt_requests_total${labels({ request, outcome })} ${n}`);
    }
    family('zeek_mgmt_request_duration_seconds', 'histogram', 'Time from a client request to its response, by request kind.');
    for (const [request, h] of [...this.latency].sort()) {
      BUCKETS.forEach((b, i) => out.push(`zeek_mgmt_request_duration_seconds_bucket${labels({ request, le: String(b) })} ${h.counts[i]}`));
      out.push(`zeek_mgmt_request_duration_seconds_bucket${labels({ request, le: '+Inf' })} ${h.count}`);
      out.push(`zeek_mgmt_request_duration_seconds_sum${labels({ request })} ${h.sum}`, `zeek_mgmt_request_duration_seconds_count${labels({ request })} ${h.count}`);
    }
    family('zeek_mgmt_agents_connected', 'gauge', 'Agents (instances) with a session to the controller.');
    out.push(`zeek_mgmt_agents_connected ${agents}`);
    for (const [name, help, counts] of [
      ['zeek_mgmt_node_restarts_total', 'Node restarts its agent reported (after a crash, or asked for), since the controller started.', this.restarts],
      ['zeek_mgmt_node_crashes_total', 'Node crashes its agent reported, since the controller started.', this.crashes],
    ] as const) {
      family(name, 'counter', help);
      for (const [key, n] of [...counts].sort()) {
        const [instance, node] = key.split('\0') as [string, string];
        out.push(`${name}${labels({ node, instance })} ${n}`);
      }
    }
    return `${out.join('\n')}\n`;
  }
}

/** A target's `host:port`, IPv6 in brackets. */
const target = (host: string, port: number): string => (isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);

/**
 * The http_sd document for a configuration. An instance without a known
 * address (an agent that connects, `0.0.0.0` in the configuration) takes
 * the address its session comes from; with none known its nodes are left out.
 */
export function serviceDiscovery(config: Configuration | undefined, seen: readonly Instance[]): unknown[] {
  if (!config) return [];
  const seenHost = new Map(seen.map((i) => [i.name, i.host]));
  const hosts = new Map(config.instances.map((i) => [i.name, i.host !== '0.0.0.0' ? i.host : seenHost.get(i.name)]));
  return [...config.nodes]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((n) => {
      const host = hosts.get(n.instance);
      if (!n.metricsPort || host === undefined || host === '0.0.0.0') return [];
      return [{ targets: [target(host, n.metricsPort.number)], labels: { node: n.name, role: n.role.toLowerCase(), instance: n.instance } }];
    });
}

/** The route handlers, bound to what they read. */
export function prometheusRoutes(metrics: ControllerMetrics, deployed: () => Configuration | undefined, seen: () => Instance[]) {
  return {
    services: (_req: IncomingMessage, res: ServerResponse): void => sendJson(res, 200, serviceDiscovery(deployed(), seen())),
    metrics: (_req: IncomingMessage, res: ServerResponse): void =>
      sendText(res, 200, metrics.render(seen().length), {}, 'text/plain; version=0.0.4; charset=utf-8'),
  };
}
