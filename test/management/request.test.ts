/**
 * RequestTracker on a manual clock: ids, parents, one timer for every
 * deadline, each expiry reported once, and nothing left after close().
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestTracker, type Request } from '../../src/management/request.js';
import { ManualClock } from '../helpers/clock.js';

function tracker(defaultTimeoutMs = 100): { clock: ManualClock; tracker: RequestTracker; expired: string[] } {
  const clock = new ManualClock();
  return { clock, tracker: new RequestTracker(defaultTimeoutMs, clock), expired: [] };
}

describe('RequestTracker', () => {
  test('ids are unique, state and parents are kept, finish removes a request once', () => {
    const { tracker: t } = tracker();
    const parent = t.create({ state: 'p', onTimeout: () => undefined });
    const a = t.create({ parent: parent.id, state: 'a', onTimeout: () => undefined });
    const b = t.create({ parent: parent.id, state: 'b', onTimeout: () => undefined });
    const named = t.create({ id: 'client-7', state: 'n', onTimeout: () => undefined });
    assert.equal(new Set([parent.id, a.id, b.id]).size, 3);
    assert.equal(named.id, 'client-7');
    assert.deepEqual(t.children<string>(parent.id).map((r) => r.state).sort(), ['a', 'b']);
    assert.equal(t.get<string>(a.id)?.state, 'a');
    assert.equal(t.size, 4);
    assert.equal(t.finish(a.id)?.id, a.id);
    assert.equal(t.finish(a.id), undefined, 'a second finish finds nothing');
    assert.equal(t.get(a.id), undefined);
    assert.equal(t.size, 3);
  });

  test('a request expires at its deadline, not before, and its onTimeout runs once', () => {
    const { clock, tracker: t, expired } = tracker(100);
    const req = t.create({ state: 1, onTimeout: (r) => expired.push(r.id) });
    assert.equal(req.deadline, 100);
    clock.advance(99);
    assert.deepEqual(expired, []);
    assert.ok(t.get(req.id), 'still pending at 99 ms');
    clock.advance(1);
    assert.deepEqual(expired, [req.id]);
    assert.equal(t.get(req.id), undefined, 'an expired request is gone');
    clock.advance(1000);
    assert.deepEqual(expired, [req.id], 'and never reported again');
  });

  test('one timer serves every deadline, re-armed for the earliest one left', () => {
    const { clock, tracker: t, expired } = tracker(100);
    const onTimeout = (r: Request<number>): void => { expired.push(String(r.state)); };
    t.create({ state: 300, timeoutMs: 300, onTimeout });
    t.create({ state: 50, timeoutMs: 50, onTimeout });
    t.create({ state: 200, timeoutMs: 200, onTimeout });
    const finished = t.create({ state: 100, onTimeout });
    t.create({ state: 999, deadline: 120, onTimeout });
    assert.equal(clock.pending, 1, 'one timer for five deadlines');
    t.finish(finished.id);
    clock.advance(60);
    assert.deepEqual(expired, ['50']);
    assert.equal(clock.pending, 1);
    clock.advance(240);
    assert.deepEqual(expired, ['50', '999', '200', '300'], 'in deadline order; the finished one never expires');
    assert.equal(clock.pending, 0, 'no timer once nothing waits');
  });

  test('requests due at the same time expire together; one created by onTimeout is tracked', () => {
    const { clock, tracker: t, expired } = tracker(100);
    t.create({ state: 'a', onTimeout: () => { expired.push('a'); t.create({ state: 'c', onTimeout: () => expired.push('c') }); } });
    t.create({ state: 'b', onTimeout: () => expired.push('b') });
    clock.advance(100);
    assert.deepEqual(expired, ['a', 'b']);
    clock.advance(100);
    assert.deepEqual(expired, ['a', 'b', 'c']);
  });

  test('an infinite timeout sets no timer; close() cancels the timer and forgets everything', () => {
    const { clock, tracker: t, expired } = tracker(100);
    t.create({ state: 0, timeoutMs: Infinity, onTimeout: () => expired.push('never') });
    assert.equal(clock.pending, 0);
    t.create({ state: 0, onTimeout: () => expired.push('closed') });
    assert.equal(clock.pending, 1);
    t.close();
    assert.equal(clock.pending, 0);
    assert.equal(t.size, 0);
    clock.advance(1000);
    assert.deepEqual(expired, []);
  });
});
