/** docs/simulator.md stays in step with the code: control routes, profiles, tiers. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { registerControl } from './control.ts';
import { PROFILE_NAMES } from './faults.ts';
import { createSimulator } from './index.ts';
import { TIER_NAMES } from './ratelimit.ts';

const doc = readFileSync(new URL('../../docs/simulator.md', import.meta.url), 'utf8');

describe('docs/simulator.md', () => {
  it('documents exactly the registered control routes, each with a curl example', () => {
    const registered = new Set<string>();
    const recorder = {
      route: (r: { method: string; url: string }) => registered.add(`${r.method} ${r.url}`),
    };
    registerControl(recorder as unknown as FastifyInstance, createSimulator().state);

    const documented = new Set<string>();
    for (const heading of doc.match(/^### .*$/gm) ?? []) {
      for (const [, seg] of heading.matchAll(/`([^`]+)`/g)) {
        const m = /^([A-Z /]+?) (\/_sim\/\S*)$/.exec(seg);
        if (!m) continue;
        const path = m[2].replace(/\{(\w+)\}/g, ':$1');
        for (const method of m[1].split('/').map((s) => s.trim())) documented.add(`${method} ${path}`);
      }
    }
    assert.deepEqual([...documented].sort(), [...registered].sort());
    for (const r of registered) {
      const path = r.split(' ')[1].replace(/:\w+.*$/, '');
      assert.ok(doc.includes(`$S${path}`), `curl example for ${r}`);
    }
  });

  it('names every profile and tier', () => {
    for (const p of PROFILE_NAMES) assert.ok(doc.includes(`| \`${p}\``), `profile ${p}`);
    for (const t of TIER_NAMES) assert.ok(doc.includes(`\`${t}\``), `tier ${t}`);
  });
});
