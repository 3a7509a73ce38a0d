/**
 * Script bundles: a directory of site scripts as one gzipped tar archive,
 * named by the sha256 of its bytes. The client packs and uploads it in
 * chunks; the controller stores it; agents fetch what they lack in chunks
 * over their link and unpack it into each node's directory. A chunk stays
 * far below the WebSocket frame limit (16 MiB) once base64-encoded.
 */
import { createHash } from 'node:crypto';

/** The largest archive the controller accepts (compressed). */
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;
/** One chunk of an upload or a fetch (raw bytes; base64 on the wire). */
export const BUNDLE_CHUNK_BYTES = 1024 * 1024;
/** What an agent unpacks at most: the sum of the files' sizes, and how many entries. */
export const MAX_UNPACKED_BYTES = 512 * 1024 * 1024;
export const MAX_BUNDLE_ENTRIES = 20_000;
/** The directory a bundle is unpacked into, inside a node's directory. */
export const BUNDLE_DIR = 'site';

export const bundleHash = (archive: Uint8Array): string => createHash('sha256').update(archive).digest('hex');

/** `1.2 MiB`, for messages. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}
