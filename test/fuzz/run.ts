/**
 * `npm run fuzz`: 100 000 fuzzed messages (or FUZZ_COUNT) into every wire
 * entry point of real daemons; prints, per entry point, the messages sent,
 * crashes (must be 0), the daemon's peak RSS and messages per second, then
 * checks that every daemon lives and nothing stored changed. FUZZ_SEED
 * replays a run. Exit status 1 on any crash or change.
 */
import { removeTempDirs } from '../helpers/process.js';
import { fuzz, type FuzzReport } from './fuzz.js';
import { startTargets } from './targets.js';

const count = Number(process.env.FUZZ_COUNT ?? 100_000);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

async function main(): Promise<number> {
  process.stdout.write(`fuzz: ${count} messages per entry point, seed ${seed} (FUZZ_SEED=${seed} replays it)\n`);
  const t = await startTargets();
  const reports: FuzzReport[] = [];
  try {
    for (const target of t.targets) {
      const r = await fuzz(target, count, seed);
      reports.push(r);
      process.stdout.write(`${r.name.padEnd(24)} ${String(r.messages).padStart(7)} messages  crashes ${r.crashes}  peak RSS ${r.peakRssMiB} MiB  ${r.perSecond} msg/s  (${r.errors} answered with an error)\n`);
    }
    await t.unchanged();
    process.stdout.write('every daemon is alive; stored state unchanged\n');
  } catch (err) {
    process.stdout.write(`FAILED: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await t.close();
    removeTempDirs();
  }
  return reports.some((r) => r.crashes > 0) ? 1 : 0;
}

process.exitCode = await main();
