/**
 * Two replicas (controllers) on one store and a fake clock: each adds what it
 * served to the shared window, so a breach split between them is seen whole;
 * when both decide in the same round exactly one decision lands and only that
 * replica announces it; both then assign from the stored state.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { GatewayEvents } from '../observe/events.ts';
import type { ExchangeRecord } from '../pipeline/record.ts';
import { type RawRollout, resolveRollouts, rolloutsSchema } from './config.ts';
import { RolloutController } from './controller.ts';
import type { RolloutDecision } from './state.ts';
import { MemoryRolloutStore } from './store.ts';

const config = resolveRollouts(
  rolloutsSchema.parse([
    {
      id: 'r',
      clients: ['app'],
      candidate: { model: 'claude-haiku-5-5' },
      steps: [50, 100],
      window_ms: 10_000,
      evaluate_every_ms: 1_000,
      min_samples: 10,
    },
  ]) as RawRollout[],
);

const rec = (arm: 'baseline' | 'candidate', status: number): ExchangeRecord =>
  ({
    id: 'gtw_x',
    receivedAt: 0,
    route: 'messages',
    routePath: '/v1/messages',
    method: 'POST',
    path: '/v1/messages',
    stream: false,
    status,
    outcome: 'ok',
    decisions: [],
    upstream: { attempts: 1 },
    timings: { finished: 50 },
    rollout: { id: 'r', arm, step: 0 },
  }) as ExchangeRecord;

test('a breach split over two replicas is seen whole, decided once and announced once', async () => {
  let now = 1_000_000;
  const clock = () => now;
  const store = new MemoryRolloutStore(clock);
  const announced: Array<[string, RolloutDecision]> = [];
  const replicas = ['a', 'b'].map((name) => {
    const events = new GatewayEvents();
    events.rollout.subscribe((d) => announced.push([name, d]));
    return new RolloutController({
      rollouts: config,
      store,
      logger: pino({ level: 'silent' }),
      events,
      now: clock,
      timers: false,
    });
  });
  const [a, b] = replicas;
  await a.start();
  await b.start();
  await a.act('r', 'start');
  await b.tick('r');
  assert.equal(b.state('r').status, 'running', 'b follows the stored state');
  announced.length = 0;

  // Each replica alone has 6 failing candidate requests: below min_samples (10).
  now += 100;
  for (const c of replicas) {
    for (let i = 0; i < 6; i++) c.record(rec('candidate', 500));
    for (let i = 0; i < 20; i++) c.record(rec('baseline', 200));
  }
  // Both rounds at once: each adds its counts, one sees all 12, and one write lands.
  await Promise.all([a.tick('r'), b.tick('r')]);
  // Both replicas judged the whole window and decided to roll back; the store took one write.
  assert.equal(a.last('r')!.evaluation.verdict, 'rollback');
  assert.equal(b.last('r')!.evaluation.verdict, 'rollback');
  await Promise.all([a.tick('r'), b.tick('r')]);
  assert.equal(announced.length, 1, JSON.stringify(announced.map(([n, d]) => [n, d.action])));
  const [, d] = announced[0];
  assert.equal(d.action, 'rolled_back');
  assert.equal(d.window!.candidate.requests, 12);
  assert.equal(d.window!.baseline.requests, 40);
  assert.equal(a.state('r').status, 'rolled_back');
  assert.equal(b.state('r').status, 'rolled_back');
  assert.equal((await store.read(['r'])).get('r')!.decisions.length, 2);
});
