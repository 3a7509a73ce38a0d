/**
 * Script bundles on the controller: uploads from clients arrive in chunks
 * (in order; a chunk at offset 0 starts over) and are stored once complete
 * and their sha256 matches their name; agents fetch stored ones in chunks.
 * Uploads in progress live in memory, a few at a time and 128 MiB together
 * at most: the oldest is dropped for a new one, and the client that loses it
 * gets an error naming why.
 */
import { BUNDLE_CHUNK_BYTES, bundleHash, formatBytes, MAX_BUNDLE_BYTES } from '../management/bundle.js';
import { BUNDLE_HASH } from '../management/types.js';
import { count, str, vector, type Outcome, type Value } from '../protocol/index.js';
import type { ControllerStore } from './store.js';

/** Uploads in progress at once, and the bytes they may announce together (what they can hold in memory). */
const MAX_PENDING = 4;
const MAX_PENDING_BYTES = 2 * MAX_BUNDLE_BYTES;

interface Pending { total: number; received: number; chunks: Buffer[] }

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeChunk(data: string): Buffer | undefined {
  return data.length % 4 === 0 && BASE64.test(data) ? Buffer.from(data, 'base64') : undefined;
}

export class BundleUploads {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly store: ControllerStore) {}

  /** Takes one chunk; the bytes the controller has of the bundle so far, or why the chunk is refused. */
  accept(hash: string, offset: number, total: number, data: string): Outcome<number> {
    const fail = (error: string): Outcome<number> => ({ ok: false, error });
    if (!BUNDLE_HASH.test(hash)) return fail('a script bundle is named by its sha256 (64 lowercase hex digits)');
    const stored = this.store.bundleSize(hash);
    if (stored !== undefined) {
      this.pending.delete(hash);
      return { ok: true, value: stored };
    }
    if (total < 1 || total > MAX_BUNDLE_BYTES) return fail(`a script bundle holds 1 byte to ${formatBytes(MAX_BUNDLE_BYTES)}, this one ${formatBytes(total)}`);
    const bytes = decodeChunk(data);
    if (!bytes) return fail('the chunk is not base64');
    if (bytes.length === 0 || bytes.length > BUNDLE_CHUNK_BYTES) return fail(`a chunk holds 1 byte to ${formatBytes(BUNDLE_CHUNK_BYTES)}, this one ${bytes.length} bytes`);
    let upload = this.pending.get(hash);
    if (offset === 0) {
      this.pending.delete(hash);
      const announced = (): number => [...this.pending.values()].reduce((n, u) => n + u.total, 0);
      while (this.pending.size >= MAX_PENDING || (this.pending.size > 0 && announced() + total > MAX_PENDING_BYTES)) {
        this.pending.delete(this.pending.keys().next().value!);
      }
      upload = { total, received: 0, chunks: [] };
      this.pending.set(hash, upload);
    }
    if (!upload) return fail(`no upload of bundle ${hash} in progress (start at offset 0; an upload is dropped when ${MAX_PENDING} newer ones, or newer ones of ${formatBytes(MAX_PENDING_BYTES)} together, start)`);
    if (upload.total !== total) return fail(`the upload of bundle ${hash} began with a total of ${upload.total} bytes, this chunk says ${total}`);
    if (offset !== upload.received) return fail(`expected the chunk at offset ${upload.received}, got ${offset}`);
    if (upload.received + bytes.length > total) return fail(`the chunk ends past the bundle's ${total} bytes`);
    upload.chunks.push(bytes);
    upload.received += bytes.length;
    if (upload.received < total) return { ok: true, value: upload.received };
    this.pending.delete(hash);
    const archive = Buffer.concat(upload.chunks);
    const actual = bundleHash(archive);
    if (actual !== hash) return fail(`the uploaded bytes have sha256 ${actual}, not ${hash}; nothing stored`);
    this.store.saveBundle(hash, archive);
    return { ok: true, value: total };
  }
}

/** The Result data of a fetch_bundle: `[total, base64 chunk]`, or why there is none. */
export function bundleChunk(store: ControllerStore, hash: string, offset: number): Outcome<Value> {
  if (!BUNDLE_HASH.test(hash)) return { ok: false, error: 'a script bundle is named by its sha256 (64 lowercase hex digits)' };
  const total = store.bundleSize(hash);
  if (total === undefined) return { ok: false, error: `the controller has no script bundle ${hash}` };
  if (offset >= total) return { ok: false, error: `offset ${offset} is past the end of bundle ${hash} (${total} bytes)` };
  const part = store.readBundle(hash, offset, BUNDLE_CHUNK_BYTES) ?? Buffer.alloc(0);
  return { ok: true, value: vector([count(total), str(part.toString('base64'))]) };
}
