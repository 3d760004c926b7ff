/**
 * `npm run chaos`: the fault matrix against real processes — the gateway
 * (`gantry serve`), the simulator (`gantry simulate`), real Redis and
 * PostgreSQL behind TCP fault proxies. Prints, per scenario and in total,
 * requests answered, hung, gateway 5xx, ledger rows lost and doubled, and
 * secrets found in any output; exits 1 when a scenario failed.
 *
 *   npm run chaos                         # every scenario
 *   npm run chaos -- --quick              # the quick subset (also run by npm test)
 *   npm run chaos -- pg-blackholed …      # named scenarios
 *   npm run chaos -- --json results.json  # also write the results as JSON
 *   npm run chaos -- --list               # scenario names and promises
 */
import { writeFileSync } from 'node:fs';
import { formatResults, runChaos, selectScenarios } from './lib/runner.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const jsonAt = args.indexOf('--json');
const json = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
const names = args.filter((a, i) => !a.startsWith('--') && (jsonAt < 0 || i !== jsonAt + 1));

if (flag('--list')) {
  for (const s of selectScenarios({ quick: flag('--quick'), names })) {
    console.log(`${s.name}${s.quick ? ' (quick)' : ''}: ${s.promise}`);
  }
} else {
  const t0 = Date.now();
  const results = await runChaos({ quick: flag('--quick'), names, log: (l) => console.error(l) });
  console.log(formatResults(results));
  console.log(`\n${results.length} scenarios in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (json) writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}
