/**
 * Talking to the product controller from the bench process: pre-encoded
 * request texts (so encoding is not timed), decoding of responses, and
 * waiting until agents have checked in.
 */
import { ControllerApi, TOPIC_CONTROLLER, type Result } from '../src/management/index.js';
import { decodeEvent, decodeMessage, encodeData, encodeEvent, WS_PATH, type ZeekEvent } from '../src/protocol/index.js';
import { connectWire, type WireClient } from './wire.js';

export function requestText(event: ZeekEvent): string {
  return encodeData(TOPIC_CONTROLLER, encodeEvent(event));
}

export function decodeResponse(text: string): ZeekEvent {
  const msg = decodeMessage(text);
  if (msg.type !== 'data-message') throw new Error(`expected a data message, got ${text.slice(0, 200)}`);
  return decodeEvent(msg.value);
}

export function connectController(clientPort: number): Promise<WireClient> {
  return connectWire(clientPort, WS_PATH, [TOPIC_CONTROLLER]);
}

let serial = 0;
export const nextReqid = (what: string): string => `bench-${what}-${process.pid}-${++serial}`;

/** Polls get_instances until at least `n` instances are connected. */
export async function waitForInstances(client: WireClient, n: number, timeoutMs = 60000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const reqid = nextReqid('instances');
    const [, result] = ControllerApi.getInstances.response.decode(decodeResponse(await client.request(requestText(ControllerApi.getInstances.request.make(reqid)), reqid)));
    const have = result.data?.type === 'vector' ? result.data.value.length : 0;
    if (have >= n) return;
    if (Date.now() > until) throw new Error(`only ${have} of ${n} agents connected to the controller within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Fails loudly unless every Result succeeded (a benchmark of failures measures nothing). */
export function assertAllSucceeded(what: string, results: Result[], expected?: number): void {
  const bad = results.filter((r) => !r.success);
  if (bad.length > 0) throw new Error(`${what}: ${bad.length} of ${results.length} results failed, e.g. ${bad[0]!.error ?? ''}`);
  if (expected !== undefined && results.length < expected) throw new Error(`${what}: ${results.length} results, expected ${expected}`);
}
