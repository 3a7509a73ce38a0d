/** fast-check generators for every Broker value type. */
import fc from 'fast-check';
import type { PortProtocol, Value } from '../../src/protocol/index.js';

const ipv6 = fc.ipV6().filter((a) => !a.includes('.'));

export const arbScalar: fc.Arbitrary<Value> = fc.oneof(
  fc.constant<Value>({ type: 'none' }),
  fc.boolean().map((value): Value => ({ type: 'boolean', value })),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((value): Value => ({ type: 'count', value })),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((value): Value => ({ type: 'integer', value })),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)).map((value): Value => ({ type: 'real', value })),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((value): Value => ({ type: 'timespan', value })),
  fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true })
    .map((d): Value => ({ type: 'timestamp', value: d.toISOString().replace('Z', '') })),
  fc.string({ unit: 'grapheme' }).map((value): Value => ({ type: 'string', value })),
  fc.stringMatching(/^[A-Z][A-Za-z]*::[A-Z_]+$/).map((value): Value => ({ type: 'enum-value', value })),
  fc.oneof(fc.ipV4(), ipv6).map((value): Value => ({ type: 'address', value })),
  fc.oneof(
    fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })),
    fc.tuple(ipv6, fc.integer({ min: 0, max: 128 })),
  ).map(([a, n]): Value => ({ type: 'subnet', value: `${a}/${n}` })),
  fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.constantFrom<PortProtocol>('tcp', 'udp', 'icmp', 'unknown'))
    .map(([number, protocol]): Value => ({ type: 'port', value: { number, protocol } })),
);

export const arbValue: fc.Arbitrary<Value> = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    arbScalar,
    fc.array(tie('value'), { maxLength: 4 }).map((value): Value => ({ type: 'vector', value })),
    fc.array(tie('value'), { maxLength: 4 }).map((value): Value => ({ type: 'set', value })),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((value): Value => ({ type: 'table', value })),
  ),
})).value;
