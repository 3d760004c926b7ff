/**
 * The admin route table of docs/gateway.md is the list of admin routes the
 * gateway registers with every capability on (alerts, metrics, the ledger in
 * a file, a budget, the console).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../src/config/load.ts';
import { GatewayEvents } from '../src/observe/events.ts';
import { buildPipeline } from '../src/pipeline/index.ts';
import type { GatewayRoute } from '../src/pipeline/stage.ts';

test('docs/gateway.md lists exactly the admin routes the gateway registers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-admin-routes-'));
  const config = parseConfig(
    `admin: { key_sha256: ${'b'.repeat(64)} }\nstorage: { ledger: "sqlite:${join(dir, 'l.db')}" }\nalerts: { enabled: true }\nlimits: { overall: { budget: { daily_usd: 10 } } }\n`,
    { source: 'test', baseDir: dir },
  );
  const routes: GatewayRoute[] = [];
  const pipeline = await buildPipeline({
    config,
    events: new GatewayEvents(),
    logger: pino({ level: 'silent' }),
    secrets: { value: () => undefined, onChange: () => {} },
    routes: { add: (r) => routes.push(r) },
    readiness: { add: () => {}, run: async () => ({}) },
  });
  await Promise.all(pipeline.stages.map((s) => s.close?.()));
  rmSync(dir, { recursive: true, force: true });

  const registered = routes
    .filter((r) => r.path.startsWith('/admin/'))
    .map((r) => {
      assert.equal(r.access, 'admin', `${r.path} is an admin route`);
      return `${r.method} ${r.path}`;
    })
    .sort();
  const doc = readFileSync(new URL('../docs/gateway.md', import.meta.url), 'utf8');
  const section = doc.slice(
    doc.indexOf('## Admin routes'),
    doc.indexOf('\n## ', doc.indexOf('## Admin routes') + 5),
  );
  const documented = [...section.matchAll(/^\| (GET|POST) \| `([^`]+)` \|/gm)]
    .map((m) => `${m[1]} ${m[2]}`)
    .sort();
  assert.deepEqual(documented, registered);
  assert.ok(registered.length >= 12);
});
