/**
 * Runs every bench/micro/*.bench.ts, one process each (a fresh JIT per file).
 *
 *   node bench/micro/run-all.ts [seconds per case, default 1]
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const seconds = process.argv[2] ?? process.env.MICRO_SECONDS ?? '1';
let failed = 0;
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort()) {
  console.log(`\n## ${file}`);
  const r = spawnSync(process.execPath, [`${dir}${file}`], {
    stdio: 'inherit',
    env: { ...process.env, MICRO_SECONDS: seconds },
  });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
