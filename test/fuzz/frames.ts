/**
 * fast-check generators of what an attacker sends a listener: handshakes and
 * data messages that nest deeply, are huge, have the wrong types, come in
 * broken encodings, or churn through topics; plus well-formed events of
 * every management API with arguments of the wrong shape.
 */
import fc from 'fast-check';
import { AgentApi, ControllerApi, NodeApi, TOPIC_AGENT_PREFIX, TOPIC_CONTROLLER, TOPIC_NODE, type Api } from '../../src/management/index.js';
import { encodeData, encodeEvent, type Value } from '../../src/protocol/index.js';
import { arbValue } from '../protocol/arbitraries.js';

/** One frame: text, or bytes sent as a binary frame. */
export type Frame = string | Buffer;

const nestedArrays = fc.integer({ min: 1, max: 20_000 }).map((n) => '['.repeat(n) + ']'.repeat(n));
const nestedValue = fc.integer({ min: 1, max: 5_000 }).map((n) => '{"@data-type":"vector","data":['.repeat(n) + ']}'.repeat(n));
/** Large, not huge: the fuzzer sends 100 000 messages; frames beyond the limit are tried separately. */
const hugeString = fc.integer({ min: 1024, max: 128 * 1024 }).map((n) => 'x'.repeat(n));
const bytes = fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a));
/** Text that is not valid UTF-8, lone surrogates, a BOM, NULs. */
const badEncoding = fc.oneof(
  bytes.map((b) => Buffer.concat([Buffer.from([0xff, 0xfe, 0xc3]), b]).toString('latin1')),
  fc.constantFrom('\uFEFF["a"]', '["\uD800"]', '{"type":"data-message","topic":"\uDFFF"}', '\u0000\u0000', '"\\u0000"'),
);

const names = (apis: readonly Api[]): string[] =>
  apis.flatMap((api) => Object.values(api).flatMap((s) => ('requestName' in s ? [s.requestName, s.responseName] : [s.name])));

/** Topics: the ones listened to, their children, long ones, and churn through fresh ones. */
function topicArb(base: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constant(base),
    fc.string({ maxLength: 40 }).map((s) => `${base}/${s}`),
    fc.nat().map((n) => `${base}/churn-${n}`),
    fc.integer({ min: 900, max: 4096 }).map((n) => `${base}/${'t'.repeat(n)}`),
    fc.string({ maxLength: 20 }),
  );
}

/** A well-formed Zeek event of `apis` (or a made-up name) with arguments of any shape. */
function eventArb(apis: readonly Api[]): fc.Arbitrary<{ name: string; args: Value[] }> {
  return fc.record({
    name: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...names(apis)) }, { weight: 2, arbitrary: fc.string({ maxLength: 64 }) }, { weight: 1, arbitrary: hugeString.map((s) => `Management::${s}`) }),
    args: fc.oneof(
      fc.array(arbValue, { maxLength: 4 }),
      // A reqid (maybe very long) then anything.
      fc.tuple(fc.oneof({ weight: 6, arbitrary: fc.uuid() }, { weight: 1, arbitrary: hugeString }), fc.array(arbValue, { maxLength: 3 })).map(([id, rest]): Value[] => [{ type: 'string', value: id }, ...rest]),
    ),
  });
}

/** JSON shaped like a data message with the wrong types in places. */
function wrongTypes(topics: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.record({
    type: fc.oneof(fc.constant('data-message'), fc.constant('error'), fc.constant('ack'), fc.jsonValue()),
    topic: fc.oneof(topics, fc.jsonValue()),
    '@data-type': fc.oneof(fc.constantFrom('vector', 'set', 'table', 'count', 'string', 'port', 'timespan', 'none', 'address'), fc.jsonValue()),
    data: fc.jsonValue({ maxDepth: 6 }),
    code: fc.jsonValue(),
    context: fc.jsonValue(),
  }, { requiredKeys: [] }).map((o) => JSON.stringify(o));
}

/** Data messages (after a good handshake) for a listener whose API is `apis` on topics under `base`. */
export function messageArb(base: string, apis: readonly Api[]): fc.Arbitrary<Frame> {
  const topics = topicArb(base);
  return fc.oneof(
    { weight: 10, arbitrary: fc.tuple(topics, eventArb(apis)).map(([t, e]) => encodeData(t, encodeEvent(e))) },
    { weight: 4, arbitrary: fc.tuple(topics, arbValue).map(([t, v]) => encodeData(t, v)) },
    { weight: 6, arbitrary: wrongTypes(topics) },
    { weight: 1, arbitrary: fc.tuple(topics, nestedValue).map(([t, v]) => `{"type":"data-message","topic":${JSON.stringify(t)},${v.slice(1)}`) },
    { weight: 1, arbitrary: nestedArrays },
    { weight: 1, arbitrary: fc.tuple(topics, hugeString).map(([t, s]) => encodeData(t, { type: 'string', value: s })) },
    { weight: 1, arbitrary: badEncoding },
    { weight: 1, arbitrary: bytes },
    { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
  );
}

/** First frames of a session: topic lists good and bad. */
export const handshakeArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.array(fc.oneof(fc.constantFrom(TOPIC_CONTROLLER, TOPIC_AGENT_PREFIX, TOPIC_NODE, ''), fc.string({ maxLength: 30 })), { maxLength: 8 }).map((a) => JSON.stringify(a)),
  fc.array(fc.string({ maxLength: 8 }), { minLength: 60, maxLength: 300 }).map((a) => JSON.stringify(a)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  nestedArrays,
  fc.integer({ min: 1, max: 20_000 }).map((n) => `[${'['.repeat(n)}"t"${']'.repeat(n)}]`),
  hugeString.map((s) => JSON.stringify([s])),
  badEncoding,
  bytes,
);

export const ENTRY_APIS = {
  client: [ControllerApi, AgentApi],
  agent: [AgentApi, ControllerApi],
  node: [NodeApi, AgentApi],
} as const;
