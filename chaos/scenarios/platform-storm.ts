import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIMULATOR_AWS_KEY } from '../../src/simulator/index.ts';
import { type Scenario, sleep } from '../lib/harness.ts';

/** An Anthropic 529 storm while Claude on Bedrock is healthy: the same model is served from Bedrock. */
export const platformStorm: Scenario = {
  name: 'platform-storm',
  quick: true,
  promise:
    'During an Anthropic API 529 storm, an environment with Bedrock configured fails no client request: every request (streams included) is answered 200 by the same model on Bedrock; once the breaker of the Claude API for the model opens, requests go straight to Bedrock.',
  async run(ctx) {
    // The simulator's AWS key, by reference (as a real deployment would hold its own).
    writeFileSync(join(ctx.dir, 'aws-id'), SIMULATOR_AWS_KEY.accessKeyId);
    writeFileSync(join(ctx.dir, 'aws-secret'), SIMULATOR_AWS_KEY.secretAccessKey);
    const gw = await ctx.startGateway(
      ctx.writeConfig({
        environment: {
          bedrock: {
            region: 'us-east-1',
            endpoint: ctx.simUrl,
            access_key_id: `file:${join(ctx.dir, 'aws-id')}`,
            secret_access_key: `file:${join(ctx.dir, 'aws-secret')}`,
          },
        },
      }),
    );
    const load = ctx.load(gw.url, { workers: 4, hangMs: 20_000 });
    await sleep(500);
    const res = await fetch(`${ctx.simUrl}/_sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'status', status: 529, path: '/v1/messages' }),
    });
    const { id } = (await res.json()) as { id: string };
    const from = load.records.length;
    await sleep(2_500);
    const during = load.records.slice(from);
    const faults = (await (await fetch(`${ctx.simUrl}/_sim/faults`)).json()) as {
      data: Array<{ id: string; hits: number }>;
    };
    await (await fetch(`${ctx.simUrl}/_sim/faults`, { method: 'DELETE' })).arrayBuffer();
    ctx.figure(
      'Anthropic 529s absorbed (served by Bedrock)',
      faults.data.find((f) => f.id === id)?.hits ?? 0,
    );
    const failed = during.filter((r) => r.outcome !== 'answered' || r.status !== 200);
    ctx.figure('requests during the storm', during.length);
    ctx.figure('streams among them', during.filter((r) => r.stream).length);
    ctx.figure('failed during the storm', failed.length);
    if (during.length === 0) ctx.failures.push('no request was sent during the storm');
    if (failed.length > 0) {
      ctx.failures.push(
        `${failed.length} requests failed during the storm (first: ${failed[0].outcome} ${failed[0].status ?? ''} ${failed[0].code ?? ''})`,
      );
    }
    await sleep(500);
    await load.stop();
  },
};
