/**
 * The chaos matrix's quick subset (chaos/scenarios, `quick: true`) runs in
 * `npm test`: real `gantry serve` and `gantry simulate` processes, real Redis
 * and PostgreSQL behind fault proxies. Each scenario must end with 0 hung, 0
 * gateway 5xx, no ledger row lost or doubled, no secret in any output, and
 * its own checks true. The whole matrix: `npm run chaos`
 * (docs/reliability.md).
 *
 * And the yardstick itself is checked: a gateway that logs prompt content
 * (`logging.debug_content`) and one that keeps no ledger are caught.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { ChaosContext, plantSecrets, sleep } from '../chaos/lib/harness.ts';
import { spawnSimulator } from '../chaos/lib/procs.ts';
import { runChaos } from '../chaos/lib/runner.ts';
import { SCENARIOS } from '../chaos/scenarios/index.ts';

test('chaos, quick subset: nothing hung, no gateway 5xx, no row lost or doubled, no secret disclosed', async (t) => {
  const results = await runChaos({ quick: true });
  assert.deepEqual(
    results.map((r) => r.name),
    SCENARIOS.filter((s) => s.quick).map((s) => s.name),
  );
  for (const r of results) {
    t.diagnostic(`${r.name}: ${r.answered}/${r.requests} answered, ${JSON.stringify(r.figures)}`);
    assert.ok(r.ok, `${r.name}: ${r.failures.join('; ')}`);
    assert.ok(r.answered > 0, `${r.name}: nothing answered`);
  }
});

test('the yardstick catches a disclosed prompt and a missing ledger', async () => {
  const secrets = plantSecrets();
  const sim = await spawnSimulator(secrets.upstreamKey);
  try {
    const ctx = new ChaosContext('yardstick', sim.url, secrets);
    const gw = await ctx.startGateway(
      ctx.writeConfig({ logging: { debug_content: true }, storage: { ledger: 'off' } }),
    );
    const load = ctx.load(gw.url, { workers: 2 });
    await sleep(300);
    await load.stop();
    const scenario = { name: 'yardstick', quick: false, promise: '', run: async () => {} };
    const result = await ctx.finish(scenario, Date.now());
    assert.equal(result.ok, false);
    assert.ok(result.secretsFound >= result.answered, `secrets found: ${result.secretsFound}`);
    assert.equal(result.rowsLost, result.answered);
    assert.match(result.failures.join('; '), /secrets found/);
    assert.match(result.failures.join('; '), /ledger rows lost/);
    rmSync(ctx.dir, { recursive: true, force: true });
  } finally {
    await sim.stop('SIGTERM');
  }
});
