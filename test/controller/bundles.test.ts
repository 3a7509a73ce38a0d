/**
 * Script bundle uploads on the controller, against a real SQLite store:
 * chunks in order, a stored bundle under its verified sha256, and every
 * kind of bad chunk refused with a reason and nothing stored.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BundleUploads, bundleChunk } from '../../src/controller/bundles.js';
import { ControllerStore } from '../../src/controller/store.js';
import { bundleHash } from '../../src/management/bundle.js';
import { removeTempDirs, tempDir } from '../helpers/process.js';

const stores: ControllerStore[] = [];
after(() => { for (const s of stores) s.close(); removeTempDirs(); });

function setup(): { store: ControllerStore; uploads: BundleUploads } {
  const store = ControllerStore.open(tempDir());
  stores.push(store);
  return { store, uploads: new BundleUploads(store) };
}

const b64 = (b: Buffer): string => b.toString('base64');

describe('bundle uploads', () => {
  test('chunks in order make a stored bundle that agents can fetch back in chunks; a second upload is answered at once', () => {
    const { store, uploads } = setup();
    const bytes = randomBytes(2_500_000);
    const hash = bundleHash(bytes);
    const mib = 1024 * 1024;
    assert.deepEqual(uploads.accept(hash, 0, bytes.length, b64(bytes.subarray(0, mib))), { ok: true, value: mib });
    assert.equal(store.bundleSize(hash), undefined, 'nothing stored before the last chunk');
    assert.deepEqual(uploads.accept(hash, mib, bytes.length, b64(bytes.subarray(mib, 2 * mib))), { ok: true, value: 2 * mib });
    assert.deepEqual(uploads.accept(hash, 2 * mib, bytes.length, b64(bytes.subarray(2 * mib))), { ok: true, value: bytes.length });
    assert.equal(store.bundleSize(hash), bytes.length);
    assert.deepEqual(uploads.accept(hash, 0, bytes.length, b64(bytes.subarray(0, 10))), { ok: true, value: bytes.length }, 'already stored');

    const parts: Buffer[] = [];
    for (let offset = 0; offset < bytes.length;) {
      const chunk = bundleChunk(store, hash, offset);
      assert.ok(chunk.ok && chunk.value.type === 'vector');
      const [total, data] = chunk.value.value;
      assert.ok(total?.type === 'count' && data?.type === 'string');
      assert.equal(Number(total.value), bytes.length);
      const part = Buffer.from(data.value, 'base64');
      parts.push(part);
      offset += part.length;
    }
    assert.ok(Buffer.concat(parts).equals(bytes));
    assert.match((bundleChunk(store, hash, bytes.length) as { error: string }).error, /past the end/);
    assert.match((bundleChunk(store, 'ef'.repeat(32), 0) as { error: string }).error, /the controller has no script bundle/);
  });

  test('bad chunks are refused with the reason and store nothing', () => {
    const { store, uploads } = setup();
    const bytes = randomBytes(3000);
    const hash = bundleHash(bytes);
    const err = (r: ReturnType<BundleUploads['accept']>): string => (r.ok ? assert.fail('accepted') : r.error);
    assert.match(err(uploads.accept('nothex', 0, 10, 'AAAA')), /named by its sha256/);
    assert.match(err(uploads.accept(hash, 0, 0, '')), /holds 1 byte to 64\.0 MiB/);
    assert.match(err(uploads.accept(hash, 0, 200 * 1024 * 1024, 'AAAA')), /holds 1 byte to 64\.0 MiB, this one 200\.0 MiB/);
    assert.match(err(uploads.accept(hash, 0, 3000, 'not base64!')), /not base64/);
    assert.match(err(uploads.accept(hash, 100, 3000, b64(bytes.subarray(100, 200)))), /no upload of bundle .* in progress/);
    uploads.accept(hash, 0, 3000, b64(bytes.subarray(0, 1000)));
    assert.match(err(uploads.accept(hash, 2000, 3000, b64(bytes.subarray(2000)))), /expected the chunk at offset 1000, got 2000/);
    assert.match(err(uploads.accept(hash, 1000, 4000, b64(bytes.subarray(1000, 2000)))), /began with a total of 3000 bytes, this chunk says 4000/);
    assert.match(err(uploads.accept(hash, 1000, 3000, b64(Buffer.alloc(2500)))), /ends past the bundle's 3000 bytes/);
    const other = randomBytes(3000);
    uploads.accept(hash, 0, 3000, b64(other.subarray(0, 1000)));
    assert.match(err(uploads.accept(hash, 1000, 3000, b64(other.subarray(1000)))), /the uploaded bytes have sha256 [0-9a-f]{64}, not [0-9a-f]{64}; nothing stored/);
    assert.equal(store.bundleSize(hash), undefined);
  });

  test('a fifth upload in progress drops the oldest one', () => {
    const { uploads } = setup();
    const bundles = Array.from({ length: 5 }, () => randomBytes(200));
    for (const b of bundles) assert.ok(uploads.accept(bundleHash(b), 0, 200, b64(b.subarray(0, 100))).ok);
    const first = bundles[0]!;
    const r = uploads.accept(bundleHash(first), 100, 200, b64(first.subarray(100)));
    assert.match((r as { error: string }).error, /no upload of bundle .* in progress .*dropped when 4 newer ones, or newer ones of 128\.0 MiB together, start/);
    const last = bundles[4]!;
    assert.deepEqual(uploads.accept(bundleHash(last), 100, 200, b64(last.subarray(100))), { ok: true, value: 200 });
  });

  test('uploads in progress announce 128 MiB at most together: a large new one drops the older ones', () => {
    const { uploads } = setup();
    const big = (n: number): string => `${n}`.padStart(64, 'a');
    const mib = 1024 * 1024;
    assert.ok(uploads.accept(big(1), 0, 64 * mib, 'AAAA').ok);
    assert.ok(uploads.accept(big(2), 0, 60 * mib, 'AAAA').ok);
    assert.ok(uploads.accept(big(3), 0, 10 * mib, 'AAAA').ok, 'the first is dropped for it');
    assert.match((uploads.accept(big(1), 3, 64 * mib, 'AAAA') as { error: string }).error, /no upload of bundle .* in progress/);
    assert.deepEqual(uploads.accept(big(2), 3, 60 * mib, 'AAAA'), { ok: true, value: 6 }, 'the second goes on');
  });
});
