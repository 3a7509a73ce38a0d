/**
 * `npm run bench`: runs every benchmark, prints one table with the product's
 * figure, the floor measured in the same run and their ratio, and writes
 * bench/results.json. `--quick` runs each at its smallest size, to prove
 * they still run (part of the test command), not to judge speed.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { endpointRoundTrip } from './endpoint-rtt.js';
import { controllerRoundTrip } from './controller-rtt.js';
import { getNodesFanOut } from './get-nodes.js';
import { deployToRunning } from './deploy.js';
import { cliOneShot } from './cli-oneshot.js';
import { zeekClientOneShot } from './zeek-client-oneshot.js';
import { stageLarge } from './stage.js';
import { nodeStartCpu } from './node-start-cpu.js';
import { realZeek } from './real-zeek.js';
import { runPinned } from './procs.js';
import { BenchFailure, formatTable, meetsTarget, ratio, type Row } from './stats.js';

type Benchmark = (quick: boolean) => Promise<Row[]>;

export const BENCHMARKS: [string, Benchmark][] = [
  ['endpoint round trip', endpointRoundTrip],
  ['controller round trip', controllerRoundTrip],
  ['get_nodes fan-out', getNodesFanOut],
  ['deploy', deployToRunning],
  ['one-shot CLI', cliOneShot],
  ['one-shot vs zeek-client', zeekClientOneShot],
  ['stage', stageLarge],
  ['node start CPU', nodeStartCpu],
  ['real Zeek', realZeek],
];

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  const rows: Row[] = [];
  const failures: string[] = [];
  const started = Date.now();
  for (const [name, run] of BENCHMARKS) {
    if (only && !name.includes(only)) continue;
    process.stderr.write(`bench: ${name}${quick ? ' (quick)' : ''}…`);
    const t0 = Date.now();
    try {
      rows.push(...(await run(quick)));
      process.stderr.write(` ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    } catch (err) {
      if (err instanceof BenchFailure) rows.push(...err.rows);
      // One broken benchmark must not hide the others' figures; the run still fails.
      failures.push(`${name}: ${(err as Error).message}`);
      process.stderr.write(' failed\n');
      process.exitCode = 1;
    }
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  process.stdout.write(`${formatTable(rows, !quick)}\n\nmachine: ${machine}; ${((Date.now() - started) / 1000).toFixed(1)} s${quick ? ' (quick: sizes too small to judge speed)' : ''}\n`);
  for (const f of failures) process.stdout.write(`FAILED ${f}\n`);
  if (!quick) {
    const out = fileURLToPath(new URL('../../bench/results.json', import.meta.url));
    writeFileSync(out, `${JSON.stringify({ machine, date: new Date().toISOString(), rows: rows.map((r) => ({ ...r, ratio: ratio(r), met: meetsTarget(r) })), failures }, null, 2)}\n`);
  }
}

if (!runPinned()) await main();
