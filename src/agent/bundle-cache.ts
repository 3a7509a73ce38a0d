/**
 * The agent's script bundles: `<state dir>/bundles/<hash>.tar.gz`, each
 * checked against its hash when it arrives and again whenever it is read.
 * A bundle the agent lacks is fetched from the controller in chunks over
 * the existing link (one fetch per bundle at a time); a deploy keeps only
 * the bundle it runs.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleHash, formatBytes, MAX_BUNDLE_BYTES } from '../management/bundle.js';
import type { Outcome } from '../protocol/errors.js';
import { unpackBundle } from './bundle-unpack.js';

/** One chunk: the bundle's total size and the bytes from the offset asked for. */
export type FetchChunk = (hash: string, offset: number) => Promise<Outcome<{ total: number; bytes: Buffer }>>;

export class BundleCache {
  private readonly fetching = new Map<string, Promise<Outcome<void>>>();

  /** `dir`: the archives; bundles are unpacked under `${dir}-unpacking` (the agent's own) and renamed into place. */
  constructor(readonly dir: string) {}

  private path(hash: string): string {
    return join(this.dir, `${hash}.tar.gz`);
  }

  /** The archive, verified; an unreadable or altered file is an error (and removed, to be fetched again). */
  read(hash: string): Outcome<Buffer> {
    let archive: Buffer;
    try {
      archive = readFileSync(this.path(hash));
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      return { ok: false, error: missing ? `script bundle ${hash} is not on this agent` : `cannot read script bundle ${hash}: ${(err as Error).message}` };
    }
    if (bundleHash(archive) !== hash) {
      rmSync(this.path(hash), { force: true });
      return { ok: false, error: `the agent's copy of script bundle ${hash} does not match its hash; removed` };
    }
    return { ok: true, value: archive };
  }

  /** Makes sure the bundle is here, fetching it when it is not. */
  ensure(hash: string, fetch: FetchChunk): Promise<Outcome<void>> {
    if (this.read(hash).ok) return Promise.resolve({ ok: true, value: undefined });
    let running = this.fetching.get(hash);
    if (!running) {
      running = this.download(hash, fetch).finally(() => this.fetching.delete(hash));
      this.fetching.set(hash, running);
    }
    return running;
  }

  /** Unpacks the bundle into `target` (replacing it). */
  async install(hash: string, target: string): Promise<Outcome<number>> {
    const archive = this.read(hash);
    if (!archive.ok) return archive;
    const unpacked = await unpackBundle(archive.value, target, `${this.dir}-unpacking`);
    return unpacked.ok ? unpacked : { ok: false, error: `script bundle ${hash} refused: ${unpacked.error}` };
  }

  /** Removes every bundle but these. */
  keepOnly(hashes: readonly string[]): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!hashes.some((h) => name === `${h}.tar.gz`)) rmSync(join(this.dir, name), { force: true, recursive: true });
    }
  }

  private async download(hash: string, fetch: FetchChunk): Promise<Outcome<void>> {
    const chunks: Buffer[] = [];
    let received = 0;
    let total = 1;
    while (received < total) {
      const r = await fetch(hash, received);
      if (!r.ok) return { ok: false, error: `cannot fetch script bundle ${hash} from the controller: ${r.error}` };
      if (received === 0) total = r.value.total;
      if (r.value.total !== total || total > MAX_BUNDLE_BYTES || r.value.bytes.length === 0 || received + r.value.bytes.length > total) {
        return { ok: false, error: `the controller sent a malformed chunk of script bundle ${hash} (at ${received} of ${formatBytes(total)})` };
      }
      chunks.push(r.value.bytes);
      received += r.value.bytes.length;
    }
    const archive = Buffer.concat(chunks);
    if (bundleHash(archive) !== hash) return { ok: false, error: `the controller sent script bundle ${hash} with other contents (sha256 ${bundleHash(archive)})` };
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path(hash)}.tmp`;
    writeFileSync(tmp, archive, { mode: 0o600 });
    renameSync(tmp, this.path(hash));
    return { ok: true, value: undefined };
  }
}
