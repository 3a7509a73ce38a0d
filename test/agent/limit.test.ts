/** SerialQueue and mapLimit: order, concurrency, and failures that do not stop what follows. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mapLimit, SerialQueue } from '../../src/agent/limit.js';

/** A promise the test settles by hand. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

describe('SerialQueue', () => {
  test('each operation starts when the previous one has settled, failed ones included; results and errors reach their callers', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const first = deferred<string>();
    const second = deferred<string>();
    const a = q.run(async () => { log.push('a start'); return first.promise; });
    const b = q.run(async () => { log.push('b start'); return second.promise; });
    const c = q.run(async () => { log.push('c start'); return 'c'; });
    await Promise.resolve();
    assert.deepEqual(log, ['a start'], 'b waits for a');
    first.resolve('a');
    assert.equal(await a, 'a');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(log, ['a start', 'b start'], 'c waits for b');
    second.reject(new Error('b failed'));
    await assert.rejects(b, /b failed/);
    assert.equal(await c, 'c', 'a failure does not stop the queue');
    assert.deepEqual(log, ['a start', 'b start', 'c start']);
  });
});

describe('mapLimit', () => {
  test('never more than the limit in flight; results keep the input order', async () => {
    let inFlight = 0;
    let most = 0;
    const gates = Array.from({ length: 7 }, () => deferred());
    const running = mapLimit(gates.map((_, i) => i), 3, async (i) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await gates[i]!.promise;
      inFlight -= 1;
      return i * 10;
    });
    for (const g of [...gates].reverse()) {
      await new Promise((r) => setImmediate(r));
      g.resolve();
    }
    assert.deepEqual(await running, [0, 10, 20, 30, 40, 50, 60]);
    assert.equal(most, 3);
    assert.deepEqual(await mapLimit([], 3, async () => 1), []);
  });
});
