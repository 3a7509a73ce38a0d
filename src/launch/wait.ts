/** Waits until the controller lists an instance (the local agent has said hello). */
import { ControllerApi } from '../management/api.js';
import { decodeInstance, readList } from '../management/records.js';
import { ControllerConnection } from '../client/connection.js';
import { createClientLog } from '../client/log.js';
import { clientSettings, Settings } from '../client/settings.js';
import type { Outcome } from '../protocol/errors.js';

/** `sets`: client settings (`section.key=value`) for TLS and the token. */
export async function waitForInstance(at: { host: string; port: number }, sets: readonly string[], name: string, timeoutMs: number, stop: Promise<'stopped'>): Promise<Outcome<'connected' | 'stopped'>> {
  const raw = Settings.defaults();
  for (const item of sets) raw.apply(item);
  raw.set('controller', 'host', at.host);
  raw.set('controller', 'port', String(at.port));
  raw.set('client', 'request_timeout_secs', '2');
  raw.set('client', 'peering_retry_delay_secs', '0.2');
  const settings = clientSettings(raw);
  if (settings instanceof Error) return { ok: false, error: settings.message };
  const conn = new ControllerConnection(settings, raw, createClientLog({ quiet: true, verbosity: 0, rich: false }));
  let stopped = false;
  void stop.then(() => { stopped = true; });
  try {
    const c = await conn.connect();
    if (!c.ok) return c;
    const until = Date.now() + timeoutMs;
    while (Date.now() < until && !stopped) {
      const r = await conn.request(ControllerApi.getInstances);
      if (r.ok && r.value.success && r.value.data) {
        const names = readList(r.value.data, 'data', 'vector').map((v, i) => decodeInstance(v, `data[${i}]`).name);
        if (names.includes(name)) return { ok: true, value: 'connected' };
      }
      await Promise.race([new Promise((res) => setTimeout(res, 200)), stop]);
    }
    return stopped ? { ok: true, value: 'stopped' } : { ok: false, error: `agent ${name} did not connect to the controller within ${timeoutMs / 1000} s` };
  } finally {
    await conn.close();
  }
}
