/** PortPool: never the same port twice while in use, never a reserved or claimed one; real ports by default. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { PortPool } from '../../src/agent/port-pool.js';

/** A probe that offers the given ports in turn, as the OS might. */
const offering = (...ports: number[]): (() => Promise<number>) => {
  let i = 0;
  return () => Promise.resolve(ports[i++ % ports.length]!);
};

describe('PortPool', () => {
  test('skips ports in use, reserved (the configuration\'s) and claimed (adopted nodes\'); a released port is offered again', async () => {
    const pool = new PortPool(offering(5000, 5001, 5002, 5003, 5004));
    pool.reserve([5001]);
    pool.claim(5003);
    assert.equal(await pool.allocate(), 5000);
    assert.equal(await pool.allocate(), 5002);
    assert.equal(await pool.allocate(), 5004);
    pool.release(5000);
    assert.equal(await pool.allocate(), 5000, 'released, so free again');
    pool.reserve([]);
    assert.equal(await pool.allocate(), 5001, 'a new reservation replaces the old one');
  });

  test('gives up with a clear error when the OS keeps offering ports it cannot use', async () => {
    const pool = new PortPool(offering(6000));
    pool.reserve([6000]);
    await assert.rejects(pool.allocate(), /could not find a free management port/);
  });

  test('by default hands out distinct ports that are free to listen on', async () => {
    const pool = new PortPool();
    const ports = await Promise.all([pool.allocate(), pool.allocate(), pool.allocate()]);
    assert.equal(new Set(ports).size, 3);
    for (const port of ports) {
      const srv = createServer();
      await new Promise<void>((resolve, reject) => { srv.once('error', reject); srv.listen(port, '127.0.0.1', resolve); });
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });
});
