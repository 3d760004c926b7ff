import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimulator } from './index.ts';

test('GET /_sim/requests answers whatever bodies were logged (5,000 levels of nesting shown to 64)', async () => {
  const sim = await startSimulator({ profile: 'perf', acceptedKeys: ['k'] });
  try {
    const deep = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;
    const res = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: `{"model":"claude-haiku-4-5","max_tokens":5,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"t","input_schema":${deep}}]}`,
    });
    await res.text();
    const log = await fetch(`${sim.url}/_sim/requests`);
    assert.equal(log.status, 200);
    const { data } = (await log.json()) as {
      data: Array<{ body: { tools: Array<{ input_schema: unknown }> } }>;
    };
    assert.match(
      JSON.stringify(data[0].body.tools[0].input_schema),
      /nested deeper than the request log shows/,
    );
  } finally {
    await sim.close();
  }
});
