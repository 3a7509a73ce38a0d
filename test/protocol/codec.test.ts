import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeEvent, decodeMessage, decodeValue, encodeData, encodeEvent, encodeValue, parseJson, stringifyJson,
  valueEquals, attempt, type Value, count, integer, str, vector,
} from '../../src/protocol/index.js';
import { arbValue } from './arbitraries.js';

function roundTrip(v: Value): Value {
  return decodeValue(parseJson(stringifyJson(encodeValue(v))));
}

describe('Broker value codec', () => {
  test('every value type round-trips through JSON text', () => {
    fc.assert(fc.property(arbValue, (v) => valueEquals(roundTrip(v), v)), { numRuns: 500 });
  });

  test('data messages round-trip through the envelope', () => {
    fc.assert(fc.property(fc.string({ minLength: 1 }), arbValue, (topic, v) => {
      const msg = decodeMessage(encodeData(topic, v));
      return msg.type === 'data-message' && msg.topic === topic && valueEquals(msg.value, v);
    }), { numRuns: 200 });
  });

  test('the hello event of Zeek\'s WebSocket documentation decodes and encodes to the same JSON', () => {
    const golden = '{"type":"data-message","topic":"zeek.test","@data-type":"vector","data":[{"@data-type":"count","data":1},{"@data-type":"count","data":1},{"@data-type":"vector","data":[{"@data-type":"string","data":"hello"},{"@data-type":"vector","data":[{"@data-type":"count","data":3}]},{"@data-type":"vector","data":[]}]}]}';
    const msg = decodeMessage(golden);
    assert.equal(msg.type, 'data-message');
    if (msg.type !== 'data-message') return;
    const event = decodeEvent(msg.value);
    assert.equal(event.name, 'hello');
    assert.deepEqual(event.args, [count(3)]);
    assert.deepEqual(event.metadata, []);
    assert.equal(encodeData('zeek.test', encodeEvent(event)), golden);
  });

  test('events without metadata and with extra trailing elements are accepted', () => {
    const plain = vector([count(1), count(1), vector([str('ping'), vector([str('x')])])]);
    assert.deepEqual(decodeEvent(plain), { name: 'ping', args: [str('x')] });
    const extra = vector([count(1), count(1), vector([str('ping'), vector([]), vector([]), str('future')]), str('more')]);
    assert.equal(decodeEvent(extra).name, 'ping');
  });

  test('counts above 2^53 and 64-bit integers keep their exact value', () => {
    const big = '{"type":"data-message","topic":"t","@data-type":"vector","data":[{"@data-type":"count","data":18446744073709551615},{"@data-type":"integer","data":-9223372036854775808},{"@data-type":"count","data":9007199254740993}]}';
    const msg = decodeMessage(big);
    assert.equal(msg.type, 'data-message');
    if (msg.type !== 'data-message' || msg.value.type !== 'vector') return;
    assert.deepEqual(msg.value.value, [count(18446744073709551615n), integer(-9223372036854775808n), count(9007199254740993n)]);
    assert.equal(encodeData('t', msg.value), big);
  });

  test('the wire spellings of Broker types are exact', () => {
    const wire = (v: Value): unknown => encodeValue(v);
    assert.deepEqual(wire({ type: 'none' }), { '@data-type': 'none', data: {} });
    assert.deepEqual(wire({ type: 'timespan', value: 1_500_000_000n }), { '@data-type': 'timespan', data: '1500ms' });
    assert.deepEqual(wire({ type: 'timespan', value: 3_600_000_000_000n }), { '@data-type': 'timespan', data: '1h' });
    assert.deepEqual(wire({ type: 'port', value: { number: 2200, protocol: 'tcp' } }), { '@data-type': 'port', data: '2200/tcp' });
    assert.deepEqual(wire({ type: 'port', value: { number: 0, protocol: 'unknown' } }), { '@data-type': 'port', data: '0/?' });
    assert.deepEqual(wire({ type: 'enum-value', value: 'Management::RUNNING' }), { '@data-type': 'enum-value', data: 'Management::RUNNING' });
    assert.deepEqual(wire({ type: 'table', value: [[str('k'), str('v')]] }),
      { '@data-type': 'table', data: [{ key: { '@data-type': 'string', data: 'k' }, value: { '@data-type': 'string', data: 'v' } }] });
    assert.deepEqual(decodeValue({ '@data-type': 'timespan', data: '1.5s' }), { type: 'timespan', value: 1_500_000_000n });
    assert.deepEqual(decodeValue({ '@data-type': 'timespan', data: '2min' }), { type: 'timespan', value: 120_000_000_000n });
  });
});

describe('strict decoding says where and what', () => {
  const cases: [string, unknown, RegExp][] = [
    ['a port that is a string of letters', { '@data-type': 'vector', data: [{ '@data-type': 'count', data: 1 }, { '@data-type': 'port', data: 'abc' }] }, /^\[1\]: expected port, got string "abc"$/],
    ['a count that is negative', { '@data-type': 'count', data: -1 }, /count -1 out of range/],
    ['a count that is fractional', { '@data-type': 'count', data: 1.5 }, /expected count, got number 1.5/],
    ['a count sent as a string', { '@data-type': 'count', data: '1' }, /expected count, got string "1"/],
    ['a boolean sent as a number', { '@data-type': 'boolean', data: 1 }, /expected boolean, got number 1/],
    ['an address that is not one', { '@data-type': 'address', data: '300.1.1.1' }, /expected address/],
    ['a subnet with a too-long prefix', { '@data-type': 'subnet', data: '10.0.0.0/33' }, /expected subnet/],
    ['a port above 65535', { '@data-type': 'port', data: '70000/tcp' }, /expected port/],
    ['an unknown type tag', { '@data-type': 'float', data: 1 }, /unknown @data-type "float"/],
    ['a table entry without a key', { '@data-type': 'table', data: [{ value: { '@data-type': 'none', data: {} } }] }, /^\[0\]: expected \{"key", "value"\}/],
    ['a timespan with an unknown unit', { '@data-type': 'timespan', data: '5 weeks' }, /expected timespan/],
    ['a timestamp that is not ISO 8601', { '@data-type': 'timestamp', data: 'yesterday' }, /expected timestamp/],
    ['a value that is not an object', 42, /expected a Broker value, got number 42/],
    ['a missing data key', { '@data-type': 'string' }, /missing "data"/],
  ];
  for (const [name, raw, re] of cases) {
    test(`rejects ${name}`, () => {
      const r = attempt(() => decodeValue(raw));
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, re);
    });
  }

  test('paths reach into nested values', () => {
    const raw = { '@data-type': 'vector', data: [{ '@data-type': 'vector', data: [{ '@data-type': 'string', data: 'x' }, { '@data-type': 'port', data: 'abc' }] }] };
    const r = attempt(() => decodeValue(raw, 'args'));
    assert.deepEqual(r, { ok: false, error: 'args[0][1]: expected port, got string "abc"' });
    const entry = (key: unknown, value: unknown): unknown => ({ key, value });
    const s = (data: string): unknown => ({ '@data-type': 'string', data });
    const table = { '@data-type': 'table', data: [entry(s('a'), s('b')), entry(s('c'), { '@data-type': 'vector', data: [s('d'), { '@data-type': 'count', data: -2 }] })] };
    const nested = { '@data-type': 'vector', data: [s('x'), table] };
    assert.deepEqual(attempt(() => decodeValue(nested, 'args')), { ok: false, error: 'args[1][1].value[1]: count -2 out of range' });
    // A received message is decoded letting go of what it has decoded; the paths are the same.
    assert.deepEqual(attempt(() => decodeMessage(JSON.stringify({ type: 'data-message', topic: 't', ...nested }))),
      { ok: false, error: 'data[1][1].value[1]: count -2 out of range' });
    assert.deepEqual(attempt(() => decodeValue({ '@data-type': 'table', data: [entry(3, s('b'))] })), { ok: false, error: '[0].key: expected a Broker value, got number 3' });
  });

  test('random JSON never escapes as an exception from the decoder', () => {
    fc.assert(fc.property(fc.json(), (text) => {
      const r = attempt(() => decodeMessage(text));
      return r.ok === true || typeof r.error === 'string';
    }), { numRuns: 500 });
  });
});
