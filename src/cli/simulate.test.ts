import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/gantry.js', import.meta.url));

describe('gantry simulate', () => {
  it('prints one listening line, answers requests and stops cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'simulate', '--port', '0', '--profile', 'perf', '--keys', 'k1,k2'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      while (!out.includes('\n')) {
        const [chunk] = (await Promise.race([once(child.stdout, 'data'), once(child, 'exit')])) as [string];
        assert.equal(typeof chunk, 'string', 'process exited before listening');
        out += chunk;
      }
      const m =
        /^gantry simulate listening on (http:\/\/127\.0\.0\.1:\d+) \(profile perf, tier unlimited\)\n$/.exec(
          out,
        );
      assert.ok(m, out);
      const r = await fetch(`${m[1]}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': 'k2', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'claude-haiku-4-5',
          max_tokens: 20,
          messages: [{ role: 'user', content: 'ping' }],
        }),
      });
      assert.equal(r.status, 200);
      assert.equal(((await r.json()) as { content: { text: string }[] }).content[0].text, 'ping');
      const bad = await fetch(`${m[1]}/v1/models`, {
        headers: { 'x-api-key': 'k3', 'anthropic-version': '2023-06-01' },
      });
      assert.equal(bad.status, 401);
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('rejects an unknown profile with the usage exit code', async () => {
    const child = spawn(process.execPath, [BIN, 'simulate', '--port', '0', '--profile', 'nope'], {
      stdio: 'pipe',
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d) => {
      err += d;
    });
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
    assert.match(err, /unknown profile "nope"/);
  });
});
