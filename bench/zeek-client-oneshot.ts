/**
 * One-shot `get-instances` and `get-nodes` against the original: the
 * zeek-mgmt executable run as a file (as operators and scripts run it, its
 * #! line applying) and the unmodified zeek-client, each a whole process
 * from spawn to exit, alternating, against one `zeek-mgmt up --runtime sim`
 * with examples/mini.ini deployed. Both must print the same bytes.
 *
 * zeek-client is not an npm or Debian package: it is looked for at
 * $ZEEK_CLIENT (default /opt/zeek-client/zeek-client) and run with
 * $ZEEK_CLIENT_PYTHON (default /usr/bin/python3, which needs the websocket
 * module: Debian's python3-websocket). Without it the rows say why they
 * were skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLI, Procs, freePortRange, timeProcess } from './procs.js';
import { interleaved, percentile, type Row } from './stats.js';
import { pythonJson } from '../src/client/json-output.js';

const MINI = fileURLToPath(new URL('../../examples/mini.ini', import.meta.url));
const ZEEK_CLIENT = process.env.ZEEK_CLIENT ?? '/opt/zeek-client/zeek-client';
const PYTHON = process.env.ZEEK_CLIENT_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

const COMMANDS = ['get-instances', 'get-nodes'];

/** Why zeek-client cannot run here, or undefined when it can. */
function zeekClientMissing(): string | undefined {
  if (!existsSync(ZEEK_CLIENT)) return `no zeek-client at ${ZEEK_CLIENT} (set ZEEK_CLIENT)`;
  const r = spawnSync(PYTHON, [ZEEK_CLIENT, '--help'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON}: ${r.error.message} (set ZEEK_CLIENT_PYTHON)`;
  if (r.status !== 0) return `${PYTHON} ${ZEEK_CLIENT} --help failed: ${r.stderr.trim().split('\n').pop() ?? ''}`;
  return undefined;
}

/** Fields of ours in get-nodes' per-node entries that zeek-client does not know. */
const OUR_NODE_FIELDS = ['backend_ports', 'uptime_secs', 'cpu_percent', 'rss_bytes', 'restarts', 'last_exit', 'packets_received', 'packets_dropped'];

/**
 * Our output less the fields zeek-client does not know, printed again by
 * our JSON writer: it must be zeek-client's output byte for byte.
 */
function sameOutput(stdout: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    return stdout;
  }
  const entries = (x: unknown): unknown[] => (x !== null && typeof x === 'object' ? Object.values(x) : []);
  for (const instance of entries((doc as { results?: unknown }).results)) {
    for (const node of entries(instance)) for (const f of OUR_NODE_FIELDS) delete (node as Record<string, unknown>)[f];
  }
  return `${pythonJson(doc, true)}\n`;
}

const rowName = (command: string, runs: number, how = ''): string =>
  `one-shot ${command}: zeek-mgmt${how} vs zeek-client, wall p50 (runs=${runs})`;

export async function zeekClientOneShot(quick: boolean): Promise<Row[]> {
  const runs = quick ? 2 : 20;
  const missing = zeekClientMissing();
  if (missing) {
    process.stderr.write(` skipped: ${missing} …`);
    return COMMANDS.map((command) => ({ benchmark: rowName(command, runs), product: NaN, unit: 'ms', target: '≤ 1.0×', skipped: missing }));
  }
  const procs = new Procs();
  try {
    const up = procs.cli(['up', '--runtime', 'sim', '--config', MINI, '--client-port', '0', '--agent-port', '0', '--no-agent-listen',
      '--port-start', String(await freePortRange(8)), '--metrics-port-start', String(await freePortRange(8)), '--state-dir', procs.tempDir('up')]);
    const port = Number((await up.waitFor(/clients [^ ]*:(\d+),/))[1]);
    await up.waitFor(/^Ready\./m, 60000);
    const globals = ['--controller', `127.0.0.1:${port}`];
    const rows: Row[] = [];
    const compare = async (command: string, ours: [string, string[]], env: NodeJS.ProcessEnv, how?: string, target = '≤ 1.0×'): Promise<void> => {
      const theirs: [string, string[]] = [PYTHON, [ZEEK_CLIENT, ...globals, command]];
      const [a, b] = await Promise.all([timeProcess(...ours, env), timeProcess(...theirs, env)]);
      if (sameOutput(a.stdout) !== b.stdout) throw new Error(`${command}: zeek-mgmt and zeek-client printed different output:\n${a.stdout}\n---\n${b.stdout}`);
      const [sa, sb] = await interleaved(runs, async () => { await timeProcess(...ours, env); }, async () => { await timeProcess(...theirs, env); }, 1);
      rows.push({ benchmark: rowName(command, runs, how), product: percentile(sa, 50), floor: percentile(sb, 50), unit: 'ms', target });
    };
    for (const command of COMMANDS) await compare(command, [CLI, [...globals, command]], process.env);
    if (process.env.NODE_EXTRA_CA_CERTS) {
      // What the #! line saves: through `node FILE` Node parses every certificate in that file first.
      await compare('get-instances', [process.execPath, [CLI, ...globals, 'get-instances']], process.env, ' as `node dist/src/bin.cjs`', 'info: NODE_EXTRA_CA_CERTS is set');
    }
    return rows;
  } finally {
    await procs.close();
  }
}
