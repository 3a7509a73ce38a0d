/**
 * Script bundles between the client's packing and the agent's unpacking:
 * the same contents make the same archive, and the agent (root) writes only
 * regular files and directories under the target, refusing the whole bundle
 * for anything that could reach outside it. Hostile archives are built
 * byte by byte here (ustar headers), as an attacker would.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { packBundle } from '../../src/client/bundle-pack.js';
import { safePath, unpackBundle } from '../../src/agent/bundle-unpack.js';
import { BundleCache } from '../../src/agent/bundle-cache.js';
import { bundleHash, MAX_BUNDLE_ENTRIES } from '../../src/management/bundle.js';
import { removeTempDirs, tempDir } from '../helpers/process.js';

after(removeTempDirs);

/** One ustar header block (and the body padded to 512) for a hostile archive. */
function entry(name: string, type: string, body = '', extra: { linkname?: string } = {}): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${Buffer.byteLength(body).toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  if (extra.linkname) h.write(extra.linkname, 157, 100);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const data = Buffer.alloc(Math.ceil(Buffer.byteLength(body) / 512) * 512);
  data.write(body);
  return Buffer.concat([h, data]);
}

const archive = (...entries: Buffer[]): Buffer => gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]));

function site(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('packing a directory of site scripts', () => {
  test('the same contents make the same archive, whatever the times; the entry is found', async () => {
    const a = site({ 'local.zeek': '@load ./detect\n', 'detect.zeek': 'global x = 1;\n', 'intel/list.txt': 'a\n' });
    const b = site({ 'intel/list.txt': 'a\n', 'detect.zeek': 'global x = 1;\n', 'local.zeek': '@load ./detect\n' });
    utimesSync(join(b, 'detect.zeek'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const [pa, pb] = [await packBundle(a), await packBundle(b)];
    assert.ok(pa.ok && pb.ok);
    assert.equal(pa.value.hash, pb.value.hash);
    assert.equal(pa.value.hash, bundleHash(pa.value.archive));
    assert.deepEqual([pa.value.files, pa.value.entry], [3, 'local.zeek']);
    writeFileSync(join(b, 'detect.zeek'), 'global x = 2;\n');
    const changed = await packBundle(b);
    assert.ok(changed.ok);
    assert.notEqual(changed.value.hash, pa.value.hash, 'a changed script is a new bundle');
  });

  test('a symbolic link, an empty directory or a missing one is refused, naming it', async () => {
    const dir = site({ 'local.zeek': '' });
    symlinkSync('/etc/passwd', join(dir, 'passwd'));
    const linked = await packBundle(dir);
    assert.equal(linked.ok, false);
    assert.match((linked as { error: string }).error, /passwd is a symbolic link; a script bundle holds regular files and directories only/);
    const empty = await packBundle(tempDir());
    assert.match((empty as { error: string }).error, /holds no files/);
    const missing = await packBundle('/nonexistent/site');
    assert.match((missing as { error: string }).error, /^cannot read \/nonexistent\/site: ENOENT/);
  });
});

describe('unpacking on the agent', () => {
  test('a packed directory comes back file for file, modes without setuid, replacing what was there', async () => {
    const src = site({ 'local.zeek': '@load ./detect\n', 'detect.zeek': 'global x = 1;\n', 'sub/deep/a.zeek': 'A' });
    const packed = await packBundle(src);
    assert.ok(packed.ok);
    const target = join(tempDir(), 'site');
    mkdirSync(target);
    writeFileSync(join(target, 'stale.zeek'), 'old');
    const staging = join(tempDir(), 'bundles-unpacking');
    const r = await unpackBundle(packed.value.archive, target, staging);
    assert.deepEqual(r, { ok: true, value: 3 });
    assert.deepEqual(readdirSync(staging), [], 'the staging directory was renamed into place');
    assert.equal(lstatSync(target).mode & 0o777, 0o755, 'nodes may read their bundle');
    assert.deepEqual(readdirSync(target).sort(), ['detect.zeek', 'local.zeek', 'sub']);
    assert.equal(readFileSync(join(target, 'sub/deep/a.zeek'), 'utf8'), 'A');
    assert.equal(lstatSync(join(target, 'local.zeek')).mode & 0o7777, 0o644);
  });

  const hostile: [string, Buffer, RegExp][] = [
    ['an absolute path', archive(entry('/etc/cron.d/evil', '0', 'x')), /entry "\/etc\/cron\.d\/evil" is an absolute path/],
    ['a path climbing out', archive(entry('a/../../evil', '0', 'x')), /entry "a\/\.\.\/\.\.\/evil" climbs out of the bundle/],
    ['a symbolic link', archive(entry('link', '2', '', { linkname: '/etc' }), entry('link/passwd', '0', 'x')), /entry "link" is a SymbolicLink/],
    ['a hard link', archive(entry('hard', '1', '', { linkname: '/etc/shadow' })), /entry "hard" is a Link/],
    ['a character device', archive(entry('null', '3')), /entry "null" is a CharacterDevice/],
    ['a FIFO', archive(entry('fifo', '6')), /entry "fifo" is a FIFO/],
    ['a name listed twice', archive(entry('a.zeek', '0', 'x'), entry('./a.zeek', '0', 'y')), /entry "a\.zeek" is listed twice/],
    ['a file and a directory of one name', archive(entry('a', '0', 'x'), entry('a/b.zeek', '0', 'y')), /entry "a" is both a file and a directory/],
    ['a control character', archive(entry('a\nb', '0', 'x')), /has a control character/],
    ['garbage', gzipSync(Buffer.from('not a tar archive at all, just text'.repeat(30))), /damaged/],
  ];
  for (const [name, bytes, re] of hostile) {
    test(`${name} refuses the whole bundle; nothing is written, what was there stays`, async () => {
      const root = tempDir();
      const target = join(root, 'nodes', 'w1', 'site');
      mkdirSync(target, { recursive: true });
      writeFileSync(join(target, 'local.zeek'), 'previous');
      const r = await unpackBundle(bytes, target, join(root, 'bundles-unpacking'));
      assert.equal(r.ok, false);
      assert.match((r as { error: string }).error, re);
      assert.deepEqual(readdirSync(join(root, 'nodes', 'w1')), ['site'], 'nothing staged in the node\'s directory');
      const staging = join(root, 'bundles-unpacking');
      assert.deepEqual(existsSync(staging) ? readdirSync(staging) : [], [], 'no staging directory left');
      assert.deepEqual(readdirSync(target), ['local.zeek']);
      assert.equal(readFileSync(join(target, 'local.zeek'), 'utf8'), 'previous');
      assert.equal(existsSync(join(root, 'evil')), false);
    });
  }

  test(`more than ${MAX_BUNDLE_ENTRIES} entries is refused`, async () => {
    const many = Array.from({ length: MAX_BUNDLE_ENTRIES + 1 }, (_, i) => entry(`d${i}/`, '5'));
    const r = await unpackBundle(archive(...many), join(tempDir(), 'site'), join(tempDir(), 'staging'));
    assert.match((r as { error: string }).error, /more than 20000 entries/);
  });

  test('safePath keeps plain relative names and drops "." segments', () => {
    assert.deepEqual(safePath('./a/./b.zeek'), { ok: true, value: ['a', 'b.zeek'] });
    assert.equal(safePath('.').ok, false);
    assert.equal(safePath('a\\..\\b').ok, false);
  });
});

describe("the agent's bundle cache", () => {
  test('fetches in chunks what it lacks, once, checks the hash, and refuses a controller that sends other bytes', async () => {
    const packed = await packBundle(site({ 'local.zeek': 'x'.repeat(5000) }));
    assert.ok(packed.ok);
    const { hash, archive: bytes } = packed.value;
    const cache = new BundleCache(join(tempDir(), 'bundles'));
    const asked: number[] = [];
    const fetch = async (h: string, offset: number): Promise<{ ok: true; value: { total: number; bytes: Buffer } }> => {
      assert.equal(h, hash);
      asked.push(offset);
      return { ok: true, value: { total: bytes.length, bytes: bytes.subarray(offset, offset + 40) } };
    };
    const [a, b] = await Promise.all([cache.ensure(hash, fetch), cache.ensure(hash, fetch)]);
    assert.deepEqual([a, b], [{ ok: true, value: undefined }, { ok: true, value: undefined }]);
    assert.equal(asked.length, Math.ceil(bytes.length / 40), 'one fetch for both, chunk by chunk');
    assert.deepEqual(await cache.ensure(hash, fetch), { ok: true, value: undefined });
    assert.equal(asked.length, Math.ceil(bytes.length / 40), 'nothing fetched once it is here');

    const other = 'cd'.repeat(32);
    const lying = await cache.ensure(other, async () => ({ ok: true, value: { total: bytes.length, bytes } }));
    assert.equal(lying.ok, false);
    assert.match((lying as { error: string }).error, new RegExp(`the controller sent script bundle ${other} with other contents`));
    assert.equal(cache.read(other).ok, false);

    writeFileSync(join(cache.dir, `${hash}.tar.gz`), 'tampered');
    const read = cache.read(hash);
    assert.match((read as { error: string }).error, /does not match its hash; removed/);
    assert.equal(existsSync(join(cache.dir, `${hash}.tar.gz`)), false);
  });
});
