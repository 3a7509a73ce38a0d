/**
 * `diag NODE`, the agent's part: what this host knows about one node, as
 * files (name → text) for the client to pack into one .tar.gz — the node's
 * kept crash directories, its layout and generated files, its outputs, its
 * configuration and status, versions, resource limits and the agent's
 * recent management log lines about it. Every file is cut to its end at
 * FILE_LIMIT, and the whole stops at TOTAL_LIMIT, so the answer fits a
 * message.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { arch, release, type as osType, version as osVersion } from 'node:os';
import { basename, join } from 'node:path';
import type { Node, NodeStatus } from '../management/index.js';
import { logText } from '../management/log-search.js';
import { crashDirs, listing } from './crash-dirs.js';
import { readTail } from '../management/file-tail.js';
import { KEEP_ROTATED, STREAMS } from './outputs.js';

const FILE_LIMIT = 256 * 1024;
const TOTAL_LIMIT = 8 * 1024 * 1024;
/** Node-directory files worth shipping whole (small, generated or written by the agent). */
const NODE_FILES = ['cluster-layout.zeek', 'cluster-layout.json', 'cluster-backend.zeek', 'management-node.zeek', 'loaded-scripts', 'pid.json', 'last-exit.json'];

export interface DiagSubject {
  node: Node;
  configId: string;
  status: NodeStatus;
  nodeDir: string;
  stateDir: string;
  /** Lines for versions.txt (zeek-mgmt, runtime). */
  versions: string[];
}

/** The files of a node's diagnostics on this host. */
export function collectDiag(s: DiagSubject): Map<string, string> {
  const files = new Files();
  const { node } = s;
  files.add('node.json', `${JSON.stringify({ configId: s.configId, node, status: s.status }, null, 2)}\n`);
  files.add('versions.txt', [
    ...s.versions, `node.js ${process.version}`, `os ${osType()} ${release()} ${osVersion()} ${arch()}`,
  ].join('\n') + '\n');
  files.add('ulimits.txt', limits(s.status.pid));
  for (const name of NODE_FILES) files.addFile(`node-dir/${name}`, join(s.nodeDir, name));
  for (const stream of STREAMS) {
    files.addFile(`node-dir/${stream}`, join(s.nodeDir, stream));
    for (let i = 1; i <= KEEP_ROTATED; i++) files.addFile(`node-dir/${stream}.${i}`, join(s.nodeDir, `${stream}.${i}`));
  }
  files.add('node-dir/files.txt', listing(s.nodeDir));
  for (const dir of crashDirs(s.stateDir, node.name)) {
    for (const name of safeList(dir)) files.addFile(`crashes/${basename(dir)}/${name}`, join(dir, name));
  }
  files.add('management-log.txt', logText(join(s.stateDir, 'management.log'), node.name));
  return files.all();
}

/** The node process's limits (it inherits the agent's when it is not running), from /proc. */
function limits(pid: number | undefined): string {
  const read = (p: string): string => { try { return readFileSync(p, 'utf8'); } catch (err) { return `(unreadable: ${(err as Error).message})\n`; } };
  const node = pid === undefined ? '(the node is not running)\n' : read(`/proc/${pid}/limits`);
  return `# node process ${pid ?? '-'}\n${node}\n# the agent (pid ${process.pid}): what a node started now inherits\n${read('/proc/self/limits')}`;
}


function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Files within the limits: each cut to its end, none beyond the total. */
class Files {
  private readonly files = new Map<string, string>();
  private total = 0;
  private dropped: string[] = [];

  add(name: string, content: string): void {
    const text = content.length > FILE_LIMIT ? `[cut to its last ${FILE_LIMIT} characters]\n${content.slice(-FILE_LIMIT)}` : content;
    if (this.total + text.length > TOTAL_LIMIT) {
      this.dropped.push(name);
      return;
    }
    this.total += text.length;
    this.files.set(name, text);
  }

  /** A regular file's end (never through a link: the node's directory may belong to its user). */
  addFile(name: string, path: string): void {
    let size: number;
    try {
      const st = lstatSync(path);
      if (!st.isFile()) return;
      size = st.size;
    } catch {
      return;
    }
    const text = readTail(path, FILE_LIMIT - 100);
    this.add(name, size > FILE_LIMIT - 100 ? `[cut to its last bytes of ${size}]\n${text}` : text);
  }

  all(): Map<string, string> {
    if (this.dropped.length > 0) this.files.set('left-out.txt', `over ${TOTAL_LIMIT} bytes in all; left out:\n${this.dropped.join('\n')}\n`);
    return this.files;
  }
}
